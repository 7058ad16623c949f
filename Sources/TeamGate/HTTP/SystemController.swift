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
    let health: ServerHealth

    func addRoutes(to routes: Routes<TeamGateRequestContext>) {
        let body = ByteBuffer(string: #"{"status":"ok"}"#)
        routes.on(.get, "/health") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
        }
        let ready = ByteBuffer(string: #"{"status":"ready"}"#)
        let warming = ByteBuffer(string: #"{"status":"warming","message":"Live sessions are still being loaded into memory."}"#)
        let unreachable = ByteBuffer(string: #"{"status":"unavailable","message":"The database cannot be reached."}"#)
        routes.on(.get, "/ready") { [health] _, context in
            switch await health.readiness() {
            case .warming:
                return Response(status: .serviceUnavailable, headers: [.contentType: "application/json"], body: .init(byteBuffer: warming))
            case .databaseUnreachable(let problem):
                context.logger.warning("Not ready: the database cannot be reached", metadata: ["error": "\(problem)"])
                return Response(status: .serviceUnavailable, headers: [.contentType: "application/json"], body: .init(byteBuffer: unreachable))
            case .ready:
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ready))
            }
        }
    }
}
