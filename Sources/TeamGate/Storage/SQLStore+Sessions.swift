import Foundation
import GRDB

extension SQLStore: SessionStore {
    public func liveSession(tokenHash: Data, at date: Date) async throws -> LiveSession? {
        // Where other instances write too, first make sure the index has every change committed before now.
        if let peers { try await peers.catchUp() }
        if let live = index.lookup(tokenHash: tokenHash, at: date) { return live }
        guard !index.isWarm else { return nil }
        // Still loading: the disk answers, on a read connection. What it says is not put in the index, which
        // the loader fills in the order that keeps it right (`SessionIndex.load`).
        if case .live(let live) = try await backend.read({ [pendingEnds, unseenEnds] db in
            try Self.lookUpSession(db, tokenHash: tokenHash, at: date, pendingEnds: pendingEnds, unseenEnds: unseenEnds)
        }) { return live }
        return nil
    }

    public var holdsEveryLiveSession: Bool { index.isWarm }

    public var sessionsInMemory: Int { index.footprint.sessions }

    public func forgetExpiredSessions(at date: Date) -> Int { index.forgetExpired(at: date) }

    public func checkReachable() async throws {
        _ = try await backend.read { db in try db.row("SELECT 1 AS reachable", []) != nil }
    }

    /// Puts a session the writer found live into the index, unless another instance changed the index
    /// since this transaction read it (then the next request reads the disk again).
    func remember(tokenHash: Data, _ live: LiveSession, readAtEpoch epoch: Int64) {
        if let peers {
            peers.insert(tokenHash: tokenHash, live, readAtEpoch: epoch)
        } else {
            index.insert(tokenHash: tokenHash, live)
        }
    }

    public func loadSession(tokenHash: Data, at date: Date) async throws -> SessionLookup {
        // Unknown and ended tokens are answered from a read connection: a flood of made-up tokens never
        // waits in line with the logouts. Only a live session the index lacks (another process's) is read
        // again through the writer, ordered with revocations, before the index adopts it.
        if let peers { try await peers.catchUp() }
        let seen = try await backend.read { [pendingEnds, unseenEnds] db in
            try Self.lookUpSession(db, tokenHash: tokenHash, at: date, pendingEnds: pendingEnds, unseenEnds: unseenEnds)
        }
        guard case .live = seen else { return seen }
        return try await writer.write(
            { [self] db -> (SessionLookup, epoch: Int64) in
                let epoch = try IndexEpoch.current(db)
                // Ordered with the writes: ends earlier in this transaction are its own, read with the row.
                return (try Self.lookUpSession(db, tokenHash: tokenHash, at: date, pendingEnds: pendingEnds, unseenEnds: unseenEnds), epoch)
            },
            afterCommit: { [self] outcome in
                if case .live(let live) = outcome.0 { remember(tokenHash: tokenHash, live, readAtEpoch: outcome.epoch) }
            }
        ).0
    }

    /// A device's session only: a console cookie is no bearer token, so it is as unknown here as a made-up one.
    /// With the session's pending end, from memory or, when `unseenEnds` has it, from the same statement.
    private static func lookUpSession(
        _ db: any SQLConnection, tokenHash: Data, at date: Date, pendingEnds: PendingSessionEnds, unseenEnds: UnseenEnds
    ) throws -> SessionLookup {
        guard
            let row = try db.row(
                """
                SELECT s.*, m.removed_at AS member_removed_at, m.deactivated_at AS member_deactivated_at, o.name AS organization_name,
                    \(UnseenEnds.columns) FROM sessions s
                JOIN members m ON m.id = s.member_id JOIN organizations o ON o.id = s.organization_id \(unseenEnds.join(to: "s"))
                WHERE s.token_hash = ? AND s.kind IN ('device', 'app')
                """,
                [unseenEnds.bound, tokenHash]
            )
        else { return .unknown }
        let session = Session(row: row).ended(by: pendingEnds.end(ofSession: row["id"])).ended(byJoined: row)
        guard session.isLive(at: date), (row["member_removed_at"] as Int64?) == nil, (row["member_deactivated_at"] as Int64?) == nil else { return .ended(session) }
        guard let memberRow = try db.row("SELECT * FROM members WHERE id = ?", [session.memberID]) else { return .unknown }
        return .live(
            LiveSession(
                sessionID: session.id, expiresAt: session.expiresAt, member: TeamMember(row: memberRow), organizationName: row["organization_name"]))
    }

    public func sessions(memberID: String) async throws -> [Session] {
        try await readWithEnds { [pendingEnds] db in
            pendingEnds.apply(to: try db.rows("SELECT * FROM sessions WHERE member_id = ? ORDER BY created_at, id", [memberID]).map(Session.init(row:)))
        }
    }

    public func sessionSummaries(organizationID: String, at date: Date) async throws -> [String: SessionSummary] {
        try await readWithEnds { [pendingEnds] db in
            var summaries: [String: SessionSummary] = [:]
            try db.forEachRow(
                """
                SELECT member_id, SUM(CASE WHEN ended_at IS NULL AND expires_at > ? THEN 1 ELSE 0 END) AS live,
                    MAX(COALESCE(last_seen_at, created_at)) AS last_seen
                FROM sessions WHERE organization_id = ? GROUP BY member_id
                """,
                [date.millisecondsSince1970, organizationID]
            ) { row in
                summaries[row["member_id"]] = SessionSummary(
                    live: Int(row["live"] as Int64), lastSeen: Date(millisecondsSince1970: row["last_seen"] as Int64?))
            }
            return summaries.subtracting(pendingEnds.endedUnexpired(organizationID: organizationID, at: date.millisecondsSince1970))
        }
    }

    /// A read on a read connection that sees every end committed before the call: where other instances write,
    /// their ends are caught up with first (`pendingEnds` holds them from then on).
    func readWithEnds<Value: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> Value) async throws -> Value {
        if let peers { try await peers.catchUp() }
        return try await backend.read { [pendingEnds] db in
            try pendingEnds.loadIfNeeded(db)
            return try body(db)
        }
    }
}

extension [String: SessionSummary] {
    /// The summaries with each member's pending ends taken off their live sessions.
    func subtracting(_ endedUnexpired: [String: Int]) -> [String: SessionSummary] {
        guard !endedUnexpired.isEmpty else { return self }
        var summaries = self
        for (memberID, ended) in endedUnexpired {
            guard let summary = summaries[memberID] else { continue }
            summaries[memberID] = SessionSummary(live: Swift.max(0, summary.live - ended), lastSeen: summary.lastSeen)
        }
        return summaries
    }
}
