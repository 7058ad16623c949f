import NIOCore
import NIOPosix
import Synchronization

/// `Task.sleep(for:)`, except that a cancelled sleep lets go of its timer at once.
///
/// On Linux (Swift 6.3) a cancelled `Task.sleep` returns at once but keeps its timer, about 700 bytes, until the
/// deadline it was given: measured, 100,000 cancelled one-hour sleeps held 72 MB for the hour. A device's socket
/// sleeps until its session's expiry (up to 30 days) and is almost always closed first, so every socket opened
/// left its timer behind for weeks; the hour's soak showed it as RSS creeping by a megabyte a minute. Here the
/// timer is an event loop's scheduled task, which cancelling removes from the loop's queue.
enum Sleep {
    /// Sleeps for `duration`, or throws `CancellationError` as soon as the task is cancelled.
    static func `for`(_ duration: Duration) async throws {
        // At most a year: the deadline, now plus the delay, must stay within NIO's clock.
        let (seconds, attoseconds) = duration.components
        let delay: TimeAmount = .nanoseconds(min(max(0, seconds), 365 * 24 * 3600) * 1_000_000_000 + max(0, attoseconds / 1_000_000_000))
        let sleeper = Sleeper(count: Sleep.count)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: delay) { sleeper.end(.elapsed) }
                sleeper.start(continuation, timer: timer)
            }
        } onCancel: {
            sleeper.end(.cancelled)
        }
    }

    /// Sleeps for `duration` or until the task is cancelled, whichever comes first.
    static func unlessCancelled(_ duration: Duration) async {
        do {
            try await Self.for(duration)
        } catch {
            // Only cancellation ends a sleep early, and it is what the caller asked to wait for.
        }
    }

    /// Counts the timers the sleeps in a task (and its child tasks) hold: for tests, which set it.
    @TaskLocal static var count: Count?

    final class Count: Sendable {
        let pending = Atomic<Int>(0)
    }
}

/// One sleep's continuation and timer: whichever comes first, the timer or the task's cancellation, ends it.
private final class Sleeper: Sendable {
    enum Outcome { case elapsed, cancelled }

    private struct State {
        var continuation: CheckedContinuation<Void, any Error>?
        var timer: Scheduled<Void>?
        var outcome: Outcome?
    }

    private let count: Sleep.Count?
    private let state = Mutex(State())

    init(count: Sleep.Count?) {
        self.count = count
    }

    func start(_ continuation: CheckedContinuation<Void, any Error>, timer: Scheduled<Void>) {
        count?.pending.add(1, ordering: .relaxed)
        let outcome = state.withLock { state -> Outcome? in
            // Cancelled (or elapsed) before the continuation was here: end it now.
            guard let outcome = state.outcome else {
                state.continuation = continuation
                state.timer = timer
                return nil
            }
            return outcome
        }
        guard let outcome else { return }
        finish(continuation, timer: timer, outcome)
    }

    func end(_ outcome: Outcome) {
        let taken = state.withLock { state -> (CheckedContinuation<Void, any Error>, Scheduled<Void>?)? in
            guard state.outcome == nil else { return nil }
            state.outcome = outcome
            defer { (state.continuation, state.timer) = (nil, nil) }
            return state.continuation.map { ($0, state.timer) }
        }
        guard let (continuation, timer) = taken else { return }
        finish(continuation, timer: timer, outcome)
    }

    private func finish(_ continuation: CheckedContinuation<Void, any Error>, timer: Scheduled<Void>?, _ outcome: Outcome) {
        switch outcome {
        case .elapsed:
            count?.pending.subtract(1, ordering: .relaxed)
            continuation.resume()
        case .cancelled:
            timer?.cancel()
            count?.pending.subtract(1, ordering: .relaxed)
            continuation.resume(throwing: CancellationError())
        }
    }
}
