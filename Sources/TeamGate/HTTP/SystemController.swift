import Hummingbird
import NIOCore

/// Routes about the server itself. `/health` is the cheapest route: the bench measures the stack's
/// own ceiling with it.
struct SystemController: Sendable {
    func register(on router: Router<TeamGateRequestContext>, routes: RouteTable) {
        let body = ByteBuffer(string: #"{"status":"ok"}"#)
        router.on(.get, "/health", routes: routes) { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
        }
    }
}
