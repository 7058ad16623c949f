import Synchronization

/// The one writer of a store: gathers the writes that arrive while a commit is in flight and commits
/// them together, so many durable writes share one fsync (group commit).
///
/// One failing write does not undo the others: a batch first runs without savepoints (on PostgreSQL
/// each costs two round trips); when a write fails, the batch is rolled back and runs again with each
/// write in its own savepoint. Each caller is answered only after the commit that holds its write.
/// `afterCommit` runs in commit order, before the next batch starts: that is where in-memory indexes
/// follow the database.
final class GroupCommitWriter: Sendable {
    private struct Job: Sendable {
        /// Runs inside the batch's transaction, in a savepoint when `isolated`, and returns what to do
        /// once it is committed, and whether it failed.
        let run: @Sendable (_ db: any SQLConnection, _ isolated: Bool) -> (completion: @Sendable () -> Void, failed: Bool)
        let fail: @Sendable (any Error) -> Void
    }

    /// A write failed in a batch run without savepoints: the batch must run again with them.
    private struct BatchNeedsSavepoints: Error {}

    private struct State {
        var pending: [Job] = []
        var draining = false
    }

    private let backend: any SQLBackend
    private let state = Mutex(State())
    private let maxBatch: Int

    init(backend: any SQLBackend, maxBatch: Int = 1024) {
        self.backend = backend
        self.maxBatch = maxBatch
    }

    func write<T: Sendable>(
        _ work: @escaping @Sendable (any SQLConnection) throws -> T,
        afterCommit: @escaping @Sendable (T) -> Void = { _ in }
    ) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = Job(
                run: { db, isolated in
                    do {
                        nonisolated(unsafe) var value: T?
                        if isolated {
                            try db.inSavepoint { value = try work(db) }
                        } else {
                            value = try work(db)
                        }
                        let result = value!
                        return (
                            {
                                afterCommit(result)
                                continuation.resume(returning: result)
                            }, false
                        )
                    } catch {
                        return ({ continuation.resume(throwing: error) }, true)
                    }
                },
                fail: { continuation.resume(throwing: $0) }
            )
            let mustStartDraining = state.withLock { state in
                state.pending.append(job)
                guard !state.draining else { return false }
                state.draining = true
                return true
            }
            // Detached: a client that goes away must not cancel a commit others are waiting on.
            if mustStartDraining {
                Task.detached { await self.drain() }
            }
        }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Job] in
                guard !state.pending.isEmpty else {
                    state.draining = false
                    return []
                }
                let count = min(state.pending.count, maxBatch)
                let batch = Array(state.pending.prefix(count))
                state.pending.removeFirst(count)
                return batch
            }
            guard !batch.isEmpty else { return }
            do {
                let completions: [@Sendable () -> Void]
                do {
                    completions = try await backend.transaction { db in
                        try batch.map { job in
                            let outcome = job.run(db, false)
                            if outcome.failed { throw BatchNeedsSavepoints() }
                            return outcome.completion
                        }
                    }
                } catch is BatchNeedsSavepoints {
                    completions = try await backend.transaction { db in batch.map { $0.run(db, true).completion } }
                }
                for completion in completions { completion() }
            } catch {
                for job in batch { job.fail(error) }
            }
        }
    }
}
