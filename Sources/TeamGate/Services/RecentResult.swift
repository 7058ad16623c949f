import Foundation
import Synchronization

/// A value worked out at most once per `maxAge`: callers within that time get the last one, and callers that arrive
/// while it is being worked out wait for that same run.
/// Ages are read on the injected clock; a clock that jumps back makes the last value stale, never fresh for longer.
final class RecentResult<Value: Sendable>: Sendable {
    private struct State {
        var last: (at: Date, value: Value)?
        var running: Task<Value, Never>?
    }

    private let maxAge: TimeInterval
    private let clock: WallClock
    private let compute: @Sendable () async -> Value
    private let state = Mutex(State())

    init(maxAge: TimeInterval, clock: WallClock, compute: @escaping @Sendable () async -> Value) {
        self.maxAge = maxAge
        self.clock = clock
        self.compute = compute
    }

    private enum Found {
        case recent(Value)
        case running(Task<Value, Never>)
    }

    func value() async -> Value {
        let found = state.withLock { current -> Found in
            if let last = current.last, case let age = clock.now().timeIntervalSince(last.at), age >= 0, age < maxAge { return .recent(last.value) }
            if let running = current.running { return .running(running) }
            let running = Task { [self] in
                let value = await compute()
                state.withLock { state in
                    state.last = (clock.now(), value)
                    state.running = nil
                }
                return value
            }
            current.running = running
            return .running(running)
        }
        switch found {
        case .recent(let value): return value
        case .running(let task): return await task.value
        }
    }
}

/// `work`'s time ran out.
struct TimeLimitExceeded: Error, CustomStringConvertible {
    let limit: Duration
    var description: String { "no answer within \(limit)" }
}

/// Runs `work`, or throws `TimeLimitExceeded` once `limit` has passed (and cancels it).
func withTimeLimit<T: Sendable>(_ limit: Duration, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await work() }
        group.addTask {
            try await Sleep.for(limit)
            throw TimeLimitExceeded(limit: limit)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
