import Foundation
import GRDB

extension SQLStore: RetentionStore {
    public func pruneAuditEvents(occurredBefore date: Date, limit: Int) async throws -> Int {
        // The oldest by the order written (the primary key), those old enough: no index on the time alone is needed,
        // and an event whose clock ran ahead only waits for its own turn.
        try await writer.write { db in
            try db.rows(
                """
                DELETE FROM audit_events WHERE seq IN
                    (SELECT seq FROM (SELECT seq, occurred_at FROM audit_events ORDER BY seq LIMIT ?) oldest WHERE occurred_at < ?)
                RETURNING seq
                """,
                [limit, date.millisecondsSince1970]
            ).count
        }
    }

    public func pruneClosedSessions(closedBefore date: Date, limit: Int) async throws -> Int {
        // Written exactly as `sessions_by_close` is, so both databases read that index.
        try await writer.write { db in
            try db.rows(
                "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE COALESCE(ended_at, expires_at) < ? LIMIT ?) RETURNING id",
                [date.millisecondsSince1970, limit]
            ).count
        }
    }

    public func pruneWebhookDeliveries(createdBefore date: Date, limit: Int) async throws -> Int {
        try await writer.write { db in
            try db.rows(
                "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries WHERE created_at < ? LIMIT ?) RETURNING id",
                [date.millisecondsSince1970, limit]
            ).count
        }
    }
}
