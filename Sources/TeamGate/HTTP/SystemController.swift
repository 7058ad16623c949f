import Hummingbird
import NIOCore

/// Routes about the server itself. `/health` is the cheapest route: the bench measures the stack's
/// own ceiling with it. `/ready` says whether every live session is in memory yet: until then the
/// server answers correctly, reading sessions from the database, but slower (a load balancer may wait).
struct SystemController: Sendable {
    let store: any SessionStore

    func addRoutes(to routes: Routes<TeamGateRequestContext>) {
        let body = ByteBuffer(string: #"{"status":"ok"}"#)
        routes.on(.get, "/health") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
        }
        let ready = ByteBuffer(string: #"{"status":"ready"}"#)
        let warming = ByteBuffer(string: #"{"status":"warming","message":"Live sessions are still being loaded into memory."}"#)
        routes.on(.get, "/ready") { [store] _, _ in
            store.holdsEveryLiveSession
                ? Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ready))
                : Response(status: .serviceUnavailable, headers: [.contentType: "application/json"], body: .init(byteBuffer: warming))
        }
    }
}
