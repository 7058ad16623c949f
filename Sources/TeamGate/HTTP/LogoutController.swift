import Foundation
import Hummingbird

/// `POST /team-member/logout`: DoubleTick's Logout API, keyed by the organisation's public API key.
struct LogoutController: Sendable {
    let logout: Logout
    let bodyLimit: Int

    func register(on router: Router<TeamGateRequestContext>, routes: RouteTable) {
        router.on(.post, "/team-member/logout", routes: routes, use: handle)
    }

    @Sendable func handle(_ request: Request, context: TeamGateRequestContext) async throws -> Response {
        guard let secret = Credentials.apiKey(in: request.headers) else { throw TeamGateError.invalidAPIKey }
        let phone: PhoneNumber
        do {
            let body = try await JSONObjectBody.read(request, limit: bodyLimit)
            var problems: [String] = []
            guard let parsed = body.requiredPhone("userPhoneNumber", problems: &problems) else { throw APIError.badRequest(problems) }
            phone = parsed
        } catch let error as APIError {
            // As in NestJS, a wrong key is reported before anything wrong with the body.
            _ = try await logout.authenticate(apiKey: secret)
            throw error
        }
        let ended = try await logout.logOut(apiKey: secret, phone: phone, requestID: context.id, clientIP: context.clientIP)
        // Written by hand: this is the hot route, and the body is two numbers and an id of safe characters.
        let body = #"{"success":true,"sessionsEnded":\#(ended.sessionsEnded),"revocationId":"\#(ended.revocationID)"}"#
        return Response(
            status: .created, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
