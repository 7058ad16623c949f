import Hummingbird
import Logging
import NIOCore
import Synchronization

/// Routes about the server itself.
///
/// `/health` says the process is up and serving HTTP, nothing more: it is the cheapest route, which the bench
/// measures as the stack's ceiling, and what a process supervisor (Docker's `HEALTHCHECK`, systemd) should ask.
/// `/ready` is for load balancers: 200 only when the database answers a query (within `databaseTimeout`) and
/// every live session is in memory. While the index loads the server answers correctly, reading sessions
/// from the database, but slower; with the database unreachable, every write would fail.
struct SystemController: Sendable {
    let store: any SessionStore
    /// The database's answer, asked at most once a second: `/ready` needs no key, so a flood of it must not become a
    /// flood of queries (on PostgreSQL, each would hold a pooled connection). Nil when it answered.
    let databaseProblem: RecentResult<String?>

    init(store: any SessionStore, databaseTimeout: Duration = .seconds(2)) {
        self.store = store
        self.databaseProblem = RecentResult(maxAge: .seconds(1)) {
            do {
                try await withTimeLimit(databaseTimeout) { try await store.checkReachable() }
                return nil
            } catch {
                return "\(error)"
            }
        }
    }

    func addRoutes(to routes: Routes<TeamGateRequestContext>) {
        let body = ByteBuffer(string: #"{"status":"ok"}"#)
        routes.on(.get, "/health") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
        }
        let ready = ByteBuffer(string: #"{"status":"ready"}"#)
        let warming = ByteBuffer(string: #"{"status":"warming","message":"Live sessions are still being loaded into memory."}"#)
        let unreachable = ByteBuffer(string: #"{"status":"unavailable","message":"The database cannot be reached."}"#)
        routes.on(.get, "/ready") { [store, databaseProblem] _, context in
            guard store.holdsEveryLiveSession else {
                return Response(status: .serviceUnavailable, headers: [.contentType: "application/json"], body: .init(byteBuffer: warming))
            }
            if let problem = await databaseProblem.value() {
                context.logger.warning("Not ready: the database cannot be reached", metadata: ["error": "\(problem)"])
                return Response(status: .serviceUnavailable, headers: [.contentType: "application/json"], body: .init(byteBuffer: unreachable))
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ready))
        }
    }
}

/// A value worked out at most once per `maxAge`: callers within that time get the last one, and callers that arrive
/// while it is being worked out wait for that same run.
final class RecentResult<Value: Sendable>: Sendable {
    private struct State {
        var last: (at: ContinuousClock.Instant, value: Value)?
        var running: Task<Value, Never>?
    }

    private let maxAge: Duration
    private let compute: @Sendable () async -> Value
    private let state = Mutex(State())

    init(maxAge: Duration, compute: @escaping @Sendable () async -> Value) {
        self.maxAge = maxAge
        self.compute = compute
    }

    private enum Found {
        case recent(Value)
        case running(Task<Value, Never>)
    }

    func value() async -> Value {
        let found = state.withLock { current -> Found in
            if let last = current.last, ContinuousClock.now - last.at < maxAge { return .recent(last.value) }
            if let running = current.running { return .running(running) }
            let running = Task { [self] in
                let value = await compute()
                state.withLock { state in
                    state.last = (ContinuousClock.now, value)
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
            try await Task.sleep(for: limit)
            throw TimeLimitExceeded(limit: limit)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
