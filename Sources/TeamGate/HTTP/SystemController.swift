import Hummingbird
import NIOCore

/// Routes about the server itself. `/health` is the cheapest route: the bench measures the stack's
/// own ceiling with it.
struct SystemController: Sendable {
    func addRoutes(to routes: Routes<TeamGateRequestContext>) {
        let body = ByteBuffer(string: #"{"status":"ok"}"#)
        routes.on(.get, "/health") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
        }
    }
}
