import Foundation
import GRDB
import Logging
import Synchronization

/// Start-up: the store answers at once and fills its session index in the background. Until the index is
/// warm, a token it does not hold is read from the database on a read connection (`liveSession`), so
/// no answer is stale and none waits for the load.
extension SQLStore {
    /// Loads the index in a background task, retrying after a failure; `close()` cancels it,
    /// `waitUntilIndexIsWarm()` awaits it. The index must be loading already (`SessionIndex.beginLoading`).
    func startLoadingIndex() {
        let task = Task.detached { [self] in
            let started = ContinuousClock.now
            while !Task.isCancelled {
                do {
                    try await loadIndex()
                    FreedMemory.release()
                    let seconds = (ContinuousClock.now - started) / .seconds(1)
                    let footprint = index.footprint
                    logger.notice(
                        "Session index warm",
                        metadata: [
                            "seconds": "\(String(format: "%.2f", seconds))", "sessions": "\(footprint.sessions)",
                            "members": "\(footprint.members)", "bytes": "\(footprint.bytes)",
                        ])
                    return
                } catch {
                    if Task.isCancelled { return }
                    logger.error(
                        "Loading the session index failed; sessions are read from the database until it loads. Retrying in 1 s",
                        metadata: ["error": "\(error)"])
                }
                do {
                    try await Sleep.for(.seconds(1))
                } catch {
                    return
                }
            }
        }
        indexLoading.withLock { $0 = task }
    }

    /// Returns once the index holds every live session (or its loading was cancelled).
    public func waitUntilIndexIsWarm() async {
        await indexLoading.withLock { $0 }?.value
    }

    /// Reads the pending ends, then every member with a live session, then every live session, in batches. The
    /// sessions a pending end ended are told to the index first, as ended while it loads, so it never takes them;
    /// the counts below still count them (a few members and slots too many, never a session too many).
    func loadIndex() async throws {
        let now = Date().millisecondsSince1970
        try await backend.read { [pendingEnds] db in try pendingEnds.loadIfNeeded(db) }
        index.remove(tokenHashes: pendingEnds.tokenHashes)
        // Counted from the covering index of live sessions: a fraction of a second at three million.
        let live = try await backend.read { db in
            try db.row("SELECT COUNT(*) AS live FROM sessions WHERE ended_at IS NULL AND expires_at > ? AND kind IN ('device', 'app')", [now])
                .map { $0["live"] as Int64 } ?? 0
        }
        index.reserve(sessions: Int(live))
        try await backend.read { [self] db in
            var batch: [(member: TeamMember, organizationName: String)] = []
            try db.forEachRow(
                """
                SELECT m.*, o.name AS organization_name FROM members m JOIN organizations o ON o.id = m.organization_id
                WHERE m.removed_at IS NULL
                    AND EXISTS (SELECT 1 FROM sessions s WHERE s.member_id = m.id AND s.ended_at IS NULL AND s.expires_at > ?)
                """,
                [now]
            ) { row in
                batch.append((TeamMember(row: row), row["organization_name"]))
                guard batch.count == Self.loadBatch else { return }
                try self.checkLoadingGoesOn()
                self.index.load(members: batch)
                batch.removeAll(keepingCapacity: true)
            }
            self.index.load(members: batch)
        }
        try await backend.read { [self] db in
            var count = 0
            try db.forEachRawRow(
                "SELECT token_hash, id, member_id, expires_at FROM sessions WHERE ended_at IS NULL AND expires_at > ? AND kind IN ('device', 'app')",
                [now]
            ) { row in
                let expiresAt = try row.int64(3)
                try row.withBytes(0) { tokenHash in
                    try row.withBytes(1) { sessionID in
                        try row.withBytes(2) { memberID in
                            self.index.load(tokenHash: tokenHash, sessionID: sessionID, memberID: memberID, expiresAt: expiresAt)
                        }
                    }
                }
                count += 1
                if count.isMultiple(of: Self.loadBatch) { try self.checkLoadingGoesOn() }
            }
        }
        index.finishLoading()
    }

    /// The reads run on the database's own threads, outside the task: `close()` says stop through a flag.
    private func checkLoadingGoesOn() throws {
        if indexLoadingStopped.load(ordering: .relaxed) { throw CancellationError() }
    }

    /// Members handed to the index at a time (short enough that requests never wait long for its lock), and
    /// rows read between two looks at the stop flag.
    private static let loadBatch = 4096
}
