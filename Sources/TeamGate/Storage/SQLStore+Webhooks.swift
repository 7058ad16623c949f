import Foundation
import GRDB

extension SQLStore: WebhookStore, IdempotencyStore {
    public func webhooks(organizationID: String) async throws -> [Webhook] {
        try await backend.read { db in
            try db.rows(
                "SELECT * FROM webhooks WHERE organization_id = ? AND deleted_at IS NULL ORDER BY created_at, id", [organizationID]
            ).map(Webhook.init(row:))
        }
    }

    public func pendingDeliveryCount() async throws -> Int {
        try await backend.read { db in
            Int(try db.row("SELECT COUNT(*) AS pending FROM webhook_deliveries WHERE state = 'pending'", []).map { $0["pending"] as Int64 } ?? 0)
        }
    }

    public func deliveries(webhookID: String, organizationID: String, limit: Int) async throws -> [WebhookDelivery]? {
        try await backend.read { db in
            guard
                try db.row("SELECT 1 FROM webhooks WHERE id = ? AND organization_id = ? AND deleted_at IS NULL", [webhookID, organizationID]) != nil
            else { return nil }
            return try db.rows(
                "SELECT * FROM webhook_deliveries WHERE webhook_id = ? ORDER BY created_at DESC, id LIMIT ?",
                [webhookID, limit]
            ).map(WebhookDelivery.init(row:))
        }
    }

    public func recentDeliveries(organizationID: String, limit: Int) async throws -> [String: [WebhookDelivery]] {
        try await backend.read { db in
            let rows = try db.rows(
                """
                SELECT * FROM (
                    SELECT d.*, ROW_NUMBER() OVER (PARTITION BY d.webhook_id ORDER BY d.created_at DESC, d.id) AS position
                    FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                    WHERE w.organization_id = ? AND w.deleted_at IS NULL
                ) ranked
                WHERE position <= ? ORDER BY webhook_id, created_at DESC, id
                """,
                [organizationID, limit]
            )
            return Dictionary(grouping: rows.map(WebhookDelivery.init(row:)), by: \.webhookID)
        }
    }

    public func claimDueDeliveries(at date: Date, limit: Int, lease: TimeInterval) async throws -> [(WebhookDelivery, Webhook)] {
        // Read first: most polls find nothing and then cost no write. Where instances share the database, its
        // clock decides what is due and how long a lease lasts: instances' clocks may disagree by more than a
        // lease, and one running ahead would take a delivery another is still sending.
        let system = backend.system
        let (now, due) = try await backend.read { db in
            let now = try Self.sharedNow(db, system: system) ?? date.millisecondsSince1970
            let rows = try db.rows(Self.roundRobinDue(system: system), [now, now, now, limit, limit])
            return (now, rows.map { row in
                let delivery = WebhookDelivery(row: row)
                let events: String = row["hook_events"]
                let hook = Webhook(
                    id: delivery.webhookID, organizationID: row["organization_id"], url: URL(string: row["hook_url"])!,
                    events: events.split(separator: ",").compactMap { WebhookEvent(rawValue: String($0)) }, secret: row["hook_secret"],
                    createdAt: Date(millisecondsSince1970: row["hook_created_at"]))
                return (delivery, hook)
            })
        }
        guard !due.isEmpty else { return [] }
        let until = now + Int64(lease * 1000)
        // A claim moves the next attempt past the lease, only if nobody moved it first: of instances
        // polling together, one gets each delivery. One that dies mid-send leaves it to be retried.
        let claimed = try await writer.write { db in
            try due.filter { delivery, _ in
                try !db.rows(
                    "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ? AND next_attempt_at = ? AND state = 'pending' RETURNING id",
                    [until, delivery.id, delivery.nextAttemptAt.millisecondsSince1970]
                ).isEmpty
            }.map(\.0.id)
        }
        return due.filter { claimed.contains($0.0.id) }
    }

    public func recordDeliveryAttempt(id: String, delivered: Bool, status: Int?, error: String?, at date: Date, retryIn: TimeInterval?) async throws {
        let state: WebhookDelivery.State = delivered ? .delivered : (retryIn == nil ? .failed : .pending)
        let system = backend.system
        try await writer.write { db in
            let now = try Self.sharedNow(db, system: system) ?? date.millisecondsSince1970
            try db.execute(
                """
                UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, last_status = ?, last_error = ?,
                    next_attempt_at = ?, delivered_at = ?
                WHERE id = ?
                """,
                [
                    state.rawValue, status, error, now + Int64((retryIn ?? 0) * 1000), delivered ? date.millisecondsSince1970 : nil, id,
                ]
            )
        }
    }

    public func releaseDeliveryClaim(id: String, dueIn: TimeInterval, at date: Date) async throws {
        let system = backend.system
        try await writer.write { db in
            let now = try Self.sharedNow(db, system: system) ?? date.millisecondsSince1970
            try db.execute("UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ? AND state = 'pending'", [now + Int64(dueIn * 1000), id])
        }
    }

    public func pruneIdempotencyRecords(createdBefore date: Date, limit: Int) async throws -> Int {
        try await writer.write { db in
            try db.rows(
                """
                DELETE FROM idempotency_records WHERE (organization_id, key) IN
                    (SELECT organization_id, key FROM idempotency_records WHERE created_at < ? LIMIT ?)
                RETURNING key
                """,
                [date.millisecondsSince1970, limit]
            ).count
        }
    }

    public func idempotencyRecord(organizationID: String, key: String, notBefore: Date) async throws -> IdempotencyRecord? {
        try await backend.read { db in
            try db.row(
                "SELECT * FROM idempotency_records WHERE organization_id = ? AND key = ? AND created_at >= ?",
                [organizationID, key, notBefore.millisecondsSince1970]
            ).map { row in
                IdempotencyRecord(
                    requestHash: row["request_hash"], status: row["status"], body: row["body"],
                    createdAt: Date(millisecondsSince1970: row["created_at"]))
            }
        }
    }

    public func saveIdempotencyRecord(_ record: IdempotencyRecord, organizationID: String, key: String) async throws {
        try await writer.write { db in
            // A key older than the replay window may be reused, so the insert replaces it.
            try db.execute(
                """
                INSERT INTO idempotency_records (organization_id, key, request_hash, status, body, created_at)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (organization_id, key) DO UPDATE SET request_hash = excluded.request_hash, status = excluded.status,
                    body = excluded.body, created_at = excluded.created_at
                """,
                [organizationID, key, record.requestHash, record.status, record.body, record.createdAt.millisecondsSince1970]
            )
        }
    }
}

extension SQLStore {
    /// Due deliveries taken in turns by organisation: each one's oldest, then each one's second, and so on, so one
    /// organisation's backlog cannot fill every claim. The organisations with due deliveries are found by skipping
    /// from one to the next along `webhook_deliveries_due` (a seek each), and each gives at most `limit` of its
    /// oldest due: the read is bounded by organisations × limit, not by the size of anybody's backlog.
    /// Arguments: now three times, then the per-organisation and total limits.
    static func roundRobinDue(system: String) -> String {
        let nextOrganization = """
            SELECT n.organization_id FROM webhook_deliveries n
            WHERE n.state = 'pending' AND n.next_attempt_at <= ? AND n.organization_id > busy.organization_id
            ORDER BY n.organization_id LIMIT 1
            """
        let oldestDue = """
            SELECT x.id FROM webhook_deliveries x
            WHERE x.state = 'pending' AND x.organization_id = busy.organization_id AND x.next_attempt_at <= ?
            ORDER BY x.next_attempt_at LIMIT ?
            """
        // SQLite has no LATERAL, and PostgreSQL would run a correlated IN once per row of the table: one join each.
        let perOrganization =
            system == "postgresql"
            ? "busy CROSS JOIN LATERAL (\(oldestDue)) picked JOIN webhook_deliveries d ON d.id = picked.id"
            : "busy JOIN webhook_deliveries d ON d.id IN (\(oldestDue))"
        return """
            WITH RECURSIVE busy(organization_id) AS (
                SELECT (
                    SELECT f.organization_id FROM webhook_deliveries f WHERE f.state = 'pending' AND f.next_attempt_at <= ?
                    ORDER BY f.organization_id LIMIT 1)
                UNION ALL
                SELECT (\(nextOrganization)) FROM busy WHERE busy.organization_id IS NOT NULL
            )
            SELECT * FROM (
                SELECT d.*, w.url AS hook_url, w.events AS hook_events, w.secret AS hook_secret, w.created_at AS hook_created_at,
                    ROW_NUMBER() OVER (PARTITION BY d.organization_id ORDER BY d.next_attempt_at, d.id) AS turn
                FROM \(perOrganization) JOIN webhooks w ON w.id = d.webhook_id
                WHERE w.deleted_at IS NULL
            ) taken
            ORDER BY turn, next_attempt_at, id LIMIT ?
            """
    }

    /// PostgreSQL's clock, in milliseconds since 1970, on PostgreSQL; nil on SQLite (one process, one clock).
    static func sharedNow(_ db: any SQLConnection, system: String) throws -> Int64? {
        guard system == "postgresql" else { return nil }
        return try db.row("SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) AS now", [])?["now"]
    }
}

extension SQLUnitOfWork {
    func lockedWebhookCount(organizationID: String) throws -> Int {
        // A no-op write takes the organisation's row lock on PostgreSQL (SQLite has one writer anyway): a creation on
        // another instance waits for this commit, then its count sees this webhook.
        try db.execute("UPDATE organizations SET name = name WHERE id = ?", [organizationID])
        let row = try db.row("SELECT COUNT(*) AS hooks FROM webhooks WHERE organization_id = ? AND deleted_at IS NULL", [organizationID])
        return Int(row.map { $0["hooks"] as Int64 } ?? 0)
    }
}
