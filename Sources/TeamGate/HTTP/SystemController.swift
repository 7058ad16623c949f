import Hummingbird
import Logging
import NIOCore

/// Routes about the server itself.
///
/// `/health` says the process is up and serving HTTP, nothing more: it is the cheapest route, which the bench
/// measures as the stack's ceiling, and what a process supervisor (Docker's `HEALTHCHECK`, systemd) should ask.
/// `/ready` is for load balancers: 200 only when the database answers a query (within `databaseTimeout`) and
/// every live session is in memory. While the index loads the server answers correctly, reading sessions
/// from the database, but slower; with the database unreachable, every write would fail.
struct SystemController: Sendable {
    let store: any SessionStore
    var databaseTimeout: Duration = .seconds(2)

    func addRoutes(to routes: Routes<TeamGateRequestContext>) {
        let body = ByteBuffer(string: #"{"status":"ok"}"#)
        routes.on(.get, "/health") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
        }
        let ready = ByteBuffer(string: #"{"status":"ready"}"#)
        let warming = ByteBuffer(string: #"{"status":"warming","message":"Live sessions are still being loaded into memory."}"#)
        let unreachable = ByteBuffer(string: #"{"status":"unavailable","message":"The database cannot be reached."}"#)
        routes.on(.get, "/ready") { [store, databaseTimeout] _, context in
            guard store.holdsEveryLiveSession else {
                return Response(status: .serviceUnavailable, headers: [.contentType: "application/json"], body: .init(byteBuffer: warming))
            }
            do {
                try await withTimeLimit(databaseTimeout) { try await store.checkReachable() }
            } catch {
                context.logger.warning("Not ready: the database cannot be reached", metadata: ["error": "\(error)"])
                return Response(status: .serviceUnavailable, headers: [.contentType: "application/json"], body: .init(byteBuffer: unreachable))
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ready))
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
