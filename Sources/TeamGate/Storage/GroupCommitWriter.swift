import Instrumentation
import Tracing
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
        /// once it is committed, and why it failed if it did.
        let run: @Sendable (_ db: any SQLConnection, _ isolated: Bool) -> (completion: @Sendable () -> Void, failure: (any Error)?)
        let fail: @Sendable (any Error) -> Void
        /// Set for a write that shares its statements with the others of its kind in the same batch.
        var shared: SharedWrite?
        /// The caller's trace (its request's span), which the batch's span links to.
        let trace = InstrumentationContext.current
    }

    /// A write of a kind whose inputs one call handles together (`write(_:sharing:)`).
    private struct SharedWrite: Sendable {
        let kind: String
        let input: any Sendable
        /// Runs the kind's work over the inputs of every write of the kind in the batch, in order; returns
        /// what to do once committed: once for all of them, then for each.
        let runAll: @Sendable (_ db: any SQLConnection, _ inputs: [any Sendable]) throws -> (all: @Sendable () -> Void, each: [any Sendable])
        /// Answers this write's caller with its output.
        let deliver: @Sendable (any Sendable) -> Void
    }

    /// A write failed in a batch run without savepoints: the batch must run again with them.
    private struct BatchNeedsSavepoints: Error {}

    private struct State {
        var pending: [Job] = []
        /// Why the last batch failed, when the database itself failed it; nil once a batch commits. A fatal
        /// failure stays: every later write is refused with it.
        var failure: StoreFailure?
        var draining = false
        var finished = false
        /// Callers of `finish()` waiting for the queue to empty.
        var waitingForDrain: [CheckedContinuation<Void, Never>] = []
    }

    /// A write after `finish()`: the store is closing.
    struct Finished: Error, CustomStringConvertible {
        var description: String { "The store is shutting down and takes no more writes" }
    }

    private let backend: any SQLBackend
    private let state = Mutex(State())
    private let maxBatch: Int
    /// The most writes that wait; past it a write is refused at once (`StoreFailure.overloaded`) rather than
    /// queued behind work the database cannot keep up with.
    private let maxQueued: Int

    /// Yields the one fatal failure, when the writer meets it (`TransactionStore.fatalWriteFailures`).
    let fatalFailures: AsyncStream<StoreFailure>
    private let fatalFailureContinuation: AsyncStream<StoreFailure>.Continuation

    init(backend: any SQLBackend, maxBatch: Int = 1024, maxQueued: Int = 20_000) {
        self.backend = backend
        self.maxBatch = maxBatch
        self.maxQueued = maxQueued
        (fatalFailures, fatalFailureContinuation) = AsyncStream.makeStream(of: StoreFailure.self, bufferingPolicy: .bufferingOldest(1))
    }

    /// Why the last batch failed, while the database itself keeps failing writes; nil once one commits.
    var failure: StoreFailure? { state.withLock { $0.failure } }

    /// Whether no write is waiting or being committed: background work that can wait does not take the turn.
    var isIdle: Bool { state.withLock { $0.pending.isEmpty && !$0.draining } }

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
                            }, nil
                        )
                    } catch {
                        return ({ continuation.resume(throwing: error) }, error)
                    }
                },
                fail: { continuation.resume(throwing: $0) }
            )
            enqueue(job, failing: continuation)
        }
    }

    private func enqueue<T>(_ job: Job, failing continuation: CheckedContinuation<T, any Error>) {
        let outcome = state.withLock { state -> (accepted: Bool, mustStartDraining: Bool) in
            guard !state.finished else { return (false, false) }
            guard state.pending.count < maxQueued else { return (false, false) }
            state.pending.append(job)
            guard !state.draining else { return (true, false) }
            state.draining = true
            return (true, true)
        }
        guard outcome.accepted else {
            let finished = state.withLock { $0.finished }
            return continuation.resume(throwing: finished ? Finished() as any Error : StoreFailure.overloaded)
        }
        // Started by the first write of a quiet spell and ended when the queue is empty, so the store
        // writes without a running service (the CLI, tests). Detached: a client that goes away must not
        // cancel a commit others are waiting on. `finish()` waits for it.
        if outcome.mustStartDraining {
            Task.detached { await self.drain() }
        }
    }

    /// A write whose statements are shared with the other writes of its `kind` that arrive in the same batch:
    /// `run` is called once, at the place of the first of them, with all their inputs in order, and returns
    /// one output per input (in order) and what to do once they are committed. One statement then serves
    /// them all: on PostgreSQL, where each statement is a round trip, that is what a batch costs. When the
    /// batch must run again write by write (a write failed), `run` gets this input alone, in a savepoint.
    func write<Input: Sendable, Output: Sendable>(
        _ input: Input, sharing kind: String,
        run: @escaping @Sendable (any SQLConnection, [Input]) throws -> (outputs: [Output], afterCommit: @Sendable () -> Void)
    ) async throws -> Output {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Output, any Error>) in
            let runAll: @Sendable (any SQLConnection, [any Sendable]) throws -> (all: @Sendable () -> Void, each: [any Sendable]) = { db, inputs in
                let (outputs, afterCommit) = try run(db, inputs.map { $0 as! Input })
                precondition(outputs.count == inputs.count, "a shared write must give one output per input")
                return (afterCommit, outputs)
            }
            let shared = SharedWrite(
                kind: kind, input: input, runAll: runAll, deliver: { continuation.resume(returning: $0 as! Output) })
            var job = Job(
                run: { db, isolated in
                    // Alone: the batch runs again write by write, or this is the only one of its kind.
                    do {
                        nonisolated(unsafe) var result: (all: @Sendable () -> Void, each: [any Sendable])?
                        if isolated {
                            try db.inSavepoint { result = try runAll(db, [input]) }
                        } else {
                            result = try runAll(db, [input])
                        }
                        let (all, each) = result!
                        return ({ all(); shared.deliver(each[0]) }, nil)
                    } catch {
                        return ({ continuation.resume(throwing: error) }, error)
                    }
                },
                fail: { continuation.resume(throwing: $0) })
            job.shared = shared
            enqueue(job, failing: continuation)
        }
    }

    /// Takes no more writes and returns once every write already queued is committed and answered: the
    /// last step of a graceful shutdown before the database closes.
    func finish() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let mustWait = state.withLock { state in
                state.finished = true
                guard state.draining else { return false }
                state.waitingForDrain.append(continuation)
                return true
            }
            if !mustWait { continuation.resume() }
        }
    }

    /// Runs a batch in order, without savepoints; the writes of one shared kind run together, at the place
    /// of the first of them. Throws `BatchNeedsSavepoints` when a write fails.
    private static func runTogether(_ batch: [Job], _ db: any SQLConnection) throws -> [@Sendable () -> Void] {
        var completions: [@Sendable () -> Void] = []
        var kindsRun: Set<String> = []
        for (position, job) in batch.enumerated() {
            guard let shared = job.shared else {
                let outcome = job.run(db, false)
                // The database itself failing fails the whole batch: running it again write by write would
                // only fail again, slower.
                if let failure = outcome.failure as? StoreFailure { throw failure }
                if outcome.failure != nil { throw BatchNeedsSavepoints() }
                completions.append(outcome.completion)
                continue
            }
            guard kindsRun.insert(shared.kind).inserted else { continue }
            let ofKind = batch[position...].compactMap(\.shared).filter { $0.kind == shared.kind }
            let result: (all: @Sendable () -> Void, each: [any Sendable])
            do {
                result = try shared.runAll(db, ofKind.map(\.input))
            } catch let failure as StoreFailure {
                throw failure
            } catch {
                throw BatchNeedsSavepoints()
            }
            completions.append(result.all)
            for (write, output) in zip(ofKind, result.each) {
                completions.append { write.deliver(output) }
            }
        }
        return completions
    }

    /// Runs and commits one batch, in a span of its own (a batch serves many requests, so it is no request's
    /// child: it links to the first `linkedTraces` of theirs), and records its size and duration.
    private func commit(_ batch: [Job]) async throws -> [@Sendable () -> Void] {
        try await withSpan("group commit", context: .topLevel, ofKind: .internal) { span in
            span.attributes["db.system"] = backend.system
            span.attributes["teamgate.writes"] = batch.count
            for job in batch.prefix(Self.linkedTraces) {
                if let trace = job.trace { span.addLink(SpanLink(context: trace, attributes: [:])) }
            }
            let started = ContinuousClock.now
            let completions: [@Sendable () -> Void]
            do {
                completions = try await backend.transaction { db in try Self.runTogether(batch, db) }
            } catch is BatchNeedsSavepoints {
                // A write failed: the batch runs again, each write in a savepoint, so only that one fails.
                span.attributes["teamgate.savepoints"] = true
                completions = try await backend.transaction { db in batch.map { $0.run(db, true).completion } }
            }
            TeamGateMetrics.groupCommit(writes: batch.count, took: ContinuousClock.now - started)
            return completions
        }
    }

    private static let linkedTraces = 32

    private func drain() async {
        while true {
            let (batch, drained) = state.withLock { state -> ([Job], [CheckedContinuation<Void, Never>]) in
                guard !state.pending.isEmpty else {
                    state.draining = false
                    defer { state.waitingForDrain = [] }
                    return ([], state.waitingForDrain)
                }
                let count = min(state.pending.count, maxBatch)
                let batch = Array(state.pending.prefix(count))
                state.pending.removeFirst(count)
                return (batch, [])
            }
            guard !batch.isEmpty else {
                for waiter in drained { waiter.resume() }
                return
            }
            if let fatal = state.withLock({ $0.failure.flatMap { $0.isFatal ? $0 : nil } }) {
                for job in batch { job.fail(fatal) }
                continue
            }
            do {
                let completions = try await commit(batch)
                state.withLock { $0.failure = nil }
                for completion in completions { completion() }
            } catch {
                if let failure = error as? StoreFailure {
                    state.withLock { $0.failure = failure }
                    if failure.isFatal {
                        fatalFailureContinuation.yield(failure)
                        fatalFailureContinuation.finish()
                    }
                }
                for job in batch { job.fail(error) }
            }
        }
    }
}
