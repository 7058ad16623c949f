import Foundation
import GRDB

/// Folding appended session ends into `sessions`: the writes a logout no longer makes (the row, the indexes of
/// live sessions, of revocations, of closing times), made later, oldest ends first, a small batch at a time.
extension SQLStore {
    public func foldSessionEnds(limit: Int, onlyIfIdle: Bool) async throws -> Int {
        // In the background, only when there is something to fold and nobody waits for the writer.
        if onlyIfIdle, pendingEnds.count == 0 || !writer.isIdle { return 0 }
        // Every end below the oldest left is in its row now, whoever folded it. Read after what this instance holds:
        // an end it learns of later is newer than that read, or still in the table.
        let held = pendingEnds.lastSeq
        let (folded, oldest) = try await writer.write { db in
            // The lock every ending transaction takes first, taken first here too: instances folding and ending
            // at once wait in one order (no deadlock), and no end is appended while its older ones are folded.
            try IndexEpoch.lock(db)
            let folded = try Self.fold(db, limit: limit)
            return (folded, try db.row("SELECT MIN(seq) AS oldest FROM session_ends")?["oldest"] as Int64?)
        }
        if held > 0 { pendingEnds.retire(foldedBelow: Swift.min(oldest ?? .max, held + 1), at: .now) }
        return folded
    }

    public var pendingSessionEnds: Int { pendingEnds.count }

    /// Folds the oldest `limit` ends (all of them when nil) into their rows and deletes them. A row that says it
    /// ended earlier keeps its end (ended by other means before the record was folded).
    static func fold(_ db: any SQLConnection, limit: Int?) throws -> Int {
        let bounded = limit.map { "ORDER BY seq LIMIT \($0)" } ?? ""
        guard let last = try db.row("SELECT MAX(seq) AS last FROM (SELECT seq FROM session_ends \(bounded)) oldest")?["last"] as Int64? else {
            return 0
        }
        try db.execute(
            """
            UPDATE sessions SET ended_at = e.ended_at, end_reason = e.reason, revocation_id = e.revocation_id, end_epoch = e.epoch
            FROM (SELECT session_id, ended_at, reason, revocation_id, epoch FROM session_ends WHERE seq <= ?) AS e
            WHERE sessions.id = e.session_id AND (sessions.ended_at IS NULL OR sessions.ended_at > e.ended_at)
            """,
            [last])
        return try db.rows("DELETE FROM session_ends WHERE seq <= ? RETURNING seq", [last]).count
    }
}
