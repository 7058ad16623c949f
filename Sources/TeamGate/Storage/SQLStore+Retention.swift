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
        // Written exactly as `sessions_by_close` is, so both databases read that index. A session whose end is still an
        // appended record closes by its expiry here; its record goes at its fold, which finds no row left.
        try await deleteBatch(from: "sessions", where: "COALESCE(ended_at, expires_at) < ?", before: date, limit: limit)
    }

    public func pruneWebhookDeliveries(createdBefore date: Date, limit: Int) async throws -> Int {
        try await deleteBatch(from: "webhook_deliveries", where: "created_at < ?", before: date, limit: limit)
    }

    /// Deletes up to `limit` rows of `table` (keyed by `id`) that `condition` on `date` picks; returns how many.
    /// One short statement each, so housekeeping never holds the writer long.
    func deleteBatch(from table: String, where condition: String, before date: Date, limit: Int) async throws -> Int {
        try await writer.write { db in
            try db.rows(
                "DELETE FROM \(table) WHERE id IN (SELECT id FROM \(table) WHERE \(condition) LIMIT ?) RETURNING id",
                [date.millisecondsSince1970, limit]
            ).count
        }
    }
}
