import Synchronization

/// The one writer of a SQLite store: gathers the writes that arrive while a commit is in flight and
/// commits them together, so many durable writes share one fsync (group commit).
///
/// Each write runs in its own savepoint, so one failing write does not undo the others, and each caller
/// is answered only after the commit that holds its write. `afterCommit` runs in commit order, before
/// the next batch starts: that is where in-memory indexes follow the database.
final class GroupCommitWriter: Sendable {
    private struct Job: Sendable {
        /// Runs inside the batch's transaction and returns what to do once it is committed.
        let run: @Sendable (any SQLConnection) -> @Sendable () -> Void
        let fail: @Sendable (any Error) -> Void
    }

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
                run: { db in
                    do {
                        nonisolated(unsafe) var value: T?
                        try db.inSavepoint { value = try work(db) }
                        let result = value!
                        return {
                            afterCommit(result)
                            continuation.resume(returning: result)
                        }
                    } catch {
                        return { continuation.resume(throwing: error) }
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
                let completions = try await backend.transaction { db in batch.map { $0.run(db) } }
                for completion in completions { completion() }
            } catch {
                for job in batch { job.fail(error) }
            }
        }
    }
}
