import Foundation
import GRDB

extension SQLStore {
    public func markNotified(sessionID: String, at date: Date) async throws {
        try await writer.write { db in
            try db.execute(
                "UPDATE sessions SET notified_at = ? WHERE id = ? AND notified_at IS NULL", [date.millisecondsSince1970, sessionID])
        }
    }

    public func markAcknowledged(sessionID: String, revocationID: String, at date: Date) async throws -> Bool {
        try await writer.write { [self] db in
            // Until it is folded into the row, the session's revocation is its pending end's.
            let pendingUnder = try makeUnit(db).pendingEnd(ofSession: sessionID)?.revocationID == revocationID
            return try !db.rows(
                "UPDATE sessions SET acknowledged_at = ? WHERE id = ? AND (revocation_id = ? OR ? = 1) AND acknowledged_at IS NULL RETURNING id",
                [date.millisecondsSince1970, sessionID, revocationID, pendingUnder ? 1 : 0]
            ).isEmpty
        }
    }

    public func revocation(id: String, organizationID: String) async throws -> [RevokedSession]? {
        try await readWithEnds { db in
            // Its sessions whose ends are folded into their rows, and those whose ends are still appended records (read
            // whole: the records have no index by revocation, and are few once folded). A snapshot sees each in one place.
            let rows = try db.rows(
                """
                SELECT s.id AS id, s.device_name, e.reason AS end_reason, e.ended_at AS ended_at, s.notified_at, s.acknowledged_at, m.phone
                FROM session_ends e JOIN sessions s ON s.id = e.session_id JOIN members m ON m.id = s.member_id
                WHERE e.revocation_id = ? AND e.organization_id = ?
                UNION ALL
                SELECT s.id AS id, s.device_name, s.end_reason, s.ended_at AS ended_at, s.notified_at, s.acknowledged_at, m.phone
                FROM sessions s JOIN members m ON m.id = s.member_id
                WHERE s.revocation_id = ? AND s.organization_id = ?
                ORDER BY ended_at, id
                """,
                [id, organizationID, id, organizationID]
            )
            if rows.isEmpty {
                // A logout that found no live session is still a revocation: the audit knows it.
                let known = try db.row("SELECT 1 FROM audit_events WHERE revocation_id = ? AND organization_id = ? LIMIT 1", [id, organizationID])
                return known == nil ? nil : []
            }
            return rows.map { row in
                RevokedSession(
                    sessionID: row["id"], deviceName: row["device_name"], memberPhone: PhoneNumber(trustedDigits: row["phone"]),
                    reason: (row["end_reason"] as String?).flatMap(SessionEndReason.init(rawValue:)),
                    endedAt: Date(millisecondsSince1970: row["ended_at"] as Int64?),
                    notifiedAt: Date(millisecondsSince1970: row["notified_at"] as Int64?),
                    acknowledgedAt: Date(millisecondsSince1970: row["acknowledged_at"] as Int64?))
            }
        }
    }
}
