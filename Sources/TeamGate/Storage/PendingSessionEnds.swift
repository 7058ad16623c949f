import Foundation
import GRDB
import Synchronization

/// The session ends appended to `session_ends` and not yet folded into `sessions`, by session: what every reader
/// of "is this session live" adds to the row it read. The table has no index by session, so that a logout's end
/// is an append to its last pages; this instance knows every such end instead: those it read at start-up, those
/// its writer committed, and those other instances committed, as it catches up with them (`PeerIndexSync`). An
/// end leaves here a grace after it was folded, so a reader that read its row before the fold still finds it.
final class PendingSessionEnds: Sendable {
    struct End: Sendable, Equatable {
        let seq: Int64
        let sessionID: String
        let tokenHash: Data
        let memberID: String
        let organizationID: String
        let parentID: String?
        let expiresAt: Int64
        let endedAt: Int64
        let reason: SessionEndReason
        let revocationID: String?
        let epoch: Int64?

        /// The same end with the number, reason and epoch its append gave it.
        func numbered(_ seq: Int64, reason: SessionEndReason, epoch: Int64?) -> End {
            End(
                seq: seq, sessionID: sessionID, tokenHash: tokenHash, memberID: memberID, organizationID: organizationID, parentID: parentID,
                expiresAt: expiresAt, endedAt: endedAt, reason: reason, revocationID: revocationID, epoch: epoch)
        }

        /// What the index and the devices are told of it.
        var ended: EndedSession {
            EndedSession(tokenHash: tokenHash, sessionID: sessionID, memberID: memberID, reason: reason, revocationID: revocationID, parentID: parentID)
        }
    }

    private struct State {
        var bySession: [String: End] = [:]
        /// The ends in the order they came (their numbers' order, but for another instance's caught up late), from
        /// `head` on: a retired fold drops them from the front, never by a pass over all of them.
        var order: [(seq: Int64, sessionID: String)] = []
        var head = 0
        /// The largest sequence number of an end held or once held: where one process writes (SQLite), every end
        /// numbered above it is this transaction's own.
        var lastSeq: Int64 = 0
        var loaded = false
        /// Bounds below which every end was folded, each with when it was seen, oldest first.
        var foldedBelow: [(seenAt: ContinuousClock.Instant, seq: Int64)] = []
        /// The newest of those bounds: the ends below it are in their rows already.
        var folded: Int64 = 0
    }

    private let state = Mutex(State())
    /// How long an end stays after its fold was seen: longer than any read between its row and this lookup.
    let grace: Duration

    init(grace: Duration = .seconds(10)) {
        self.grace = grace
    }

    /// The columns `End(row:)` reads.
    static let columns = "seq, session_id, token_hash, member_id, organization_id, parent_id, expires_at, ended_at, reason, revocation_id, epoch"

    /// Reads every end in the table, once: before the first reader needs them (start-up, or the first read or write).
    func loadIfNeeded(_ db: any SQLConnection) throws {
        guard !state.withLock({ $0.loaded }) else { return }
        var read: [End] = []
        try db.forEachRow("SELECT \(Self.columns) FROM session_ends", []) { row in read.append(End(row: row)) }
        state.withLock { state in
            // Merged: ends committed while this read ran are here already, and newer.
            state.bySession.reserveCapacity(read.count)
            for end in read.sorted(by: { $0.seq < $1.seq }) where state.bySession[end.sessionID] == nil {
                state.bySession[end.sessionID] = end
                state.order.append((end.seq, end.sessionID))
            }
            state.lastSeq = Swift.max(state.lastSeq, read.map(\.seq).max() ?? 0)
            state.loaded = true
        }
    }

    func add(_ ends: some Sequence<End>) {
        state.withLock { state in
            for end in ends {
                state.lastSeq = Swift.max(state.lastSeq, end.seq)
                if let known = state.bySession[end.sessionID], known.seq <= end.seq { continue }
                state.bySession[end.sessionID] = end
                state.order.append((end.seq, end.sessionID))
            }
        }
    }

    func end(ofSession id: String) -> End? {
        state.withLock { $0.bySession[id] }
    }

    /// Those of `ids` a pending end ended, in one look.
    func ended(among ids: some Sequence<String>) -> Set<String> {
        state.withLock { state in Set(ids.filter { state.bySession[$0] != nil }) }
    }

    var count: Int { state.withLock { $0.bySession.count } }

    /// Every pending end's token hash (the start-up load skips them).
    var tokenHashes: [Data] { state.withLock { $0.bySession.values.map(\.tokenHash) } }

    /// The largest sequence number held or once held (0 for none).
    var lastSeq: Int64 { state.withLock { $0.lastSeq } }

    /// The organisation's sessions that a pending end ended while they were still unexpired at `date`, by member:
    /// what `sessions` still counts as live.
    func endedUnexpired(organizationID: String, at date: Int64) -> [String: Int] {
        state.withLock { state in
            var counts: [String: Int] = [:]
            for end in state.bySession.values where end.seq >= state.folded && end.organizationID == organizationID && end.expiresAt > date {
                counts[end.memberID, default: 0] += 1
            }
            return counts
        }
    }

    /// Notes that every end numbered below `seq` is folded; ends seen folded a grace ago are dropped.
    func retire(foldedBelow seq: Int64, at now: ContinuousClock.Instant) {
        state.withLock { state in
            state.foldedBelow.append((now, seq))
            state.folded = Swift.max(state.folded, seq)
            guard let due = state.foldedBelow.lastIndex(where: { now - $0.seenAt >= grace }) else { return }
            let bound = state.foldedBelow[due].seq
            state.foldedBelow.removeFirst(due + 1)
            while state.head < state.order.count, state.order[state.head].seq < bound {
                let (seq, sessionID) = state.order[state.head]
                if state.bySession[sessionID]?.seq == seq { state.bySession[sessionID] = nil }
                state.head += 1
            }
            if state.head > 4096, state.head * 2 > state.order.count {
                state.order.removeFirst(state.head)
                state.head = 0
            }
        }
    }
}

extension PendingSessionEnds.End {
    init(row: Row) {
        self.init(
            seq: row["seq"], sessionID: row["session_id"], tokenHash: row["token_hash"], memberID: row["member_id"],
            organizationID: row["organization_id"], parentID: row["parent_id"], expiresAt: row["expires_at"], endedAt: row["ended_at"],
            reason: (row["reason"] as String?).flatMap(SessionEndReason.init(rawValue:)) ?? .sessionRevoked, revocationID: row["revocation_id"],
            epoch: row["epoch"])
    }
}

/// The end records a statement reads from `session_ends` itself rather than from `PendingSessionEnds`: where other
/// instances write (PostgreSQL), those numbered above the epoch this instance has applied; where one process writes,
/// those of the writer's own transaction (numbered above every end committed). Read in the same statement as the rows
/// they end, so one snapshot finds each end in its record or, folded meanwhile, in its row.
struct UnseenEnds: Sendable {
    let column: String
    let bound: Int64

    /// A condition that `sessions` (the table's name or alias in the statement) has no such end; binds `bound`.
    func noEnd(of sessions: String) -> String {
        "NOT EXISTS (SELECT 1 FROM session_ends e WHERE e.\(column) > ? AND e.session_id = \(sessions).id)"
    }

    /// Joins such an end to `sessions`, as `columns`; binds `bound`.
    func join(to sessions: String) -> String {
        "LEFT JOIN session_ends e ON e.session_id = \(sessions).id AND e.\(column) > ?"
    }

    static let columns = "e.ended_at AS pending_ended_at, e.reason AS pending_reason, e.revocation_id AS pending_revocation_id"
}

extension Session {
    /// The session as it stands with `pending` ended (if it ended it, or earlier than the row says).
    func ended(by pending: PendingSessionEnds.End?) -> Session {
        guard let pending else { return self }
        return ended(atMilliseconds: pending.endedAt, reason: pending.reason, revocationID: pending.revocationID)
    }

    /// The session as it stands with the end `UnseenEnds.join` found for it, if any.
    func ended(byJoined row: Row) -> Session {
        guard let at = row["pending_ended_at"] as Int64? else { return self }
        return ended(
            atMilliseconds: at, reason: (row["pending_reason"] as String?).flatMap(SessionEndReason.init(rawValue:)) ?? .sessionRevoked,
            revocationID: row["pending_revocation_id"])
    }

    private func ended(atMilliseconds milliseconds: Int64, reason: SessionEndReason, revocationID: String?) -> Session {
        let at = Date(millisecondsSince1970: milliseconds)
        if let endedAt, endedAt <= at { return self }
        var session = self
        session.endedAt = at
        session.endReason = reason
        session.revocationID = revocationID
        return session
    }
}

extension PendingSessionEnds {
    /// The sessions as they stand with the pending ends.
    func apply(to sessions: [Session]) -> [Session] {
        state.withLock { state in sessions.map { $0.ended(by: state.bySession[$0.id]) } }
    }
}
