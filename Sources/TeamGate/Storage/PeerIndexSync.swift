import Foundation
import GRDB
import Logging
import Synchronization

/// Keeps this instance's session index in step with the other instances writing to the same database.
///
/// Notifications (PostgreSQL NOTIFY, sent when a change commits) let connected devices hear at once;
/// correctness does not depend on them. Before the index answers for a request, `catchUp()` reads the
/// database's index epoch (one round trip, shared by every request that arrives while one is in flight)
/// and applies the changes numbered above what this instance has applied. A late or lost notification
/// thus costs its speed, never a window in which an ended session still works.
final class PeerIndexSync: Sendable {
    private struct State {
        var applied: Int64 = 0
        var roundInFlight = false
        var waiting: [CheckedContinuation<Void, any Error>] = []
    }

    /// What other instances changed since the last catch-up.
    private struct Changes: Sendable {
        let epoch: Int64
        let ended: [EndedSession]
        /// Those of the ended still appended records, not yet folded into their rows.
        let pending: [PendingSessionEnds.End]
        let members: [TeamMember]
    }

    private let backend: PostgresBackend
    private let index: SessionIndex
    private let pendingEnds: PendingSessionEnds
    private let logger: Logger
    private let state = Mutex(State())
    /// Told which sessions other instances ended, once the index has dropped them.
    private let endedSessionsObserver = Mutex<(@Sendable ([EndedSession]) -> Void)?>(nil)

    init(backend: PostgresBackend, index: SessionIndex, pendingEnds: PendingSessionEnds, logger: Logger) {
        self.backend = backend
        self.index = index
        self.pendingEnds = pendingEnds
        self.logger = logger
    }

    /// The epoch the index was loaded at: changes numbered above it are still to apply.
    func loaded(atEpoch epoch: Int64) {
        state.withLock { $0.applied = epoch }
    }

    /// The epoch up to which this instance holds every other instance's ends (`PendingSessionEnds`).
    var appliedEpoch: Int64 { state.withLock { $0.applied } }

    /// Follows the other instances until cancelled: notifications as they come, and a catch-up once a
    /// second in case the listening connection is down (devices then hear within a second; requests are
    /// never affected, they catch up themselves). Failures are logged and retried, never fatal.
    func follow() async {
        await withDiscardingTaskGroup { group in
            group.addTask { [self] in
                while !Task.isCancelled {
                    do {
                        try await backend.listenForIndexChanges { [self] sentAt in
                            await catchUpLogged()
                            if let sentAt { TeamGateMetrics.notificationApplied(sentAt: sentAt) }
                        }
                    } catch {
                        if Task.isCancelled { return }
                        logger.warning("Listening for other instances' changes failed; retrying", metadata: ["error": "\(error)"])
                    }
                    await pause(.seconds(1))
                }
            }
            group.addTask { [self] in
                while !Task.isCancelled {
                    await pause(.seconds(1))
                    await catchUpLogged()
                }
            }
        }
    }

    private func catchUpLogged() async {
        do {
            try await catchUp()
        } catch {
            if Task.isCancelled { return }
            logger.warning("Catching up with other instances' changes failed; retrying", metadata: ["error": "\(error)"])
        }
    }

    /// Waits, or returns early when cancelled (the loops then see the cancellation and end).
    private func pause(_ duration: Duration) async {
        do {
            try await Sleep.for(duration)
        } catch {
            return
        }
    }

    /// Returns once the index holds every change committed before the call.
    func catchUp() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let mustStartRound = state.withLock { state in
                state.waiting.append(continuation)
                guard !state.roundInFlight else { return false }
                state.roundInFlight = true
                return true
            }
            if mustStartRound { Task { await runRounds() } }
        }
    }

    /// Each round serves the callers that arrived before it started, so its read begins after their call.
    private func runRounds() async {
        while true {
            let waiting = state.withLock { state in
                let waiting = state.waiting
                state.waiting = []
                if waiting.isEmpty { state.roundInFlight = false }
                return waiting
            }
            guard !waiting.isEmpty else { return }
            do {
                try await applyChanges()
                for continuation in waiting { continuation.resume() }
            } catch {
                // The database did not answer: those who came during this round are told so too, at once,
                // rather than waiting a round of their own for the same answer (a cut-off instance answers
                // within one deadline, not two).
                let cameDuring = state.withLock { state in
                    defer { state.waiting = [] }
                    return state.waiting
                }
                for continuation in waiting + cameDuring { continuation.resume(throwing: error) }
            }
        }
    }

    private func applyChanges() async throws {
        let applied = state.withLock { $0.applied }
        let changes = try await backend.read { db -> Changes? in
            let current = try IndexEpoch.current(db)
            guard current > applied else { return nil }
            // Ends still appended and ends folded into their rows meanwhile, in one statement: one snapshot sees
            // each end in one place or the other.
            let rows = try db.rows(
                """
                SELECT \(PendingSessionEnds.columns), 1 AS pending FROM session_ends WHERE epoch > ? AND epoch <= ?
                UNION ALL
                SELECT 0, id, token_hash, member_id, organization_id, parent_id, expires_at, ended_at, end_reason, revocation_id, end_epoch, 0
                FROM sessions WHERE end_epoch > ? AND end_epoch <= ?
                """,
                [applied, current, applied, current])
            let pending = rows.filter { ($0["pending"] as Int64) == 1 }.map(PendingSessionEnds.End.init(row:))
            let ended = rows.map { PendingSessionEnds.End(row: $0).ended }
            let members = try db.rows("SELECT * FROM members WHERE change_epoch > ? AND change_epoch <= ?", [applied, current])
                .map(TeamMember.init(row:))
            return Changes(epoch: current, ended: ended, pending: pending, members: members)
        }
        guard let changes else { return }
        let isNew = state.withLock { state in
            guard changes.epoch > state.applied else { return false }
            // Before `applied` moves: a unit of work reads the ends above it from the database.
            pendingEnds.add(changes.pending)
            index.remove(tokenHashes: changes.ended.map(\.tokenHash))
            for member in changes.members { index.updateMember(member) }
            state.applied = changes.epoch
            return true
        }
        // This instance's own ends come back here too; a device acts on the first word it hears.
        if isNew, !changes.ended.isEmpty, let observer = endedSessionsObserver.withLock({ $0 }) { observer(changes.ended) }
    }

    func observeEndedSessions(_ observer: @escaping @Sendable ([EndedSession]) -> Void) {
        endedSessionsObserver.withLock { $0 = observer }
    }

    /// Puts a session found live into the index, unless changes numbered after `epoch` (when its
    /// transaction read the database) were applied meanwhile: one of them may have ended it.
    func insert(tokenHash: Data, _ live: LiveSession, readAtEpoch epoch: Int64) {
        state.withLock { state in
            guard state.applied <= epoch else { return }
            index.insert(tokenHash: tokenHash, live)
        }
    }
}
