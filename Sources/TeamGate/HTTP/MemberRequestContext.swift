import Hummingbird

/// A member's live session, as `MemberSessionMiddleware` found it, by reference (contexts are copied often).
final class AuthenticatedSession: Sendable {
    let live: LiveSession
    /// Kept to check the session again when a WebSocket starts after its upgrade was accepted.
    let token: String

    init(live: LiveSession, token: String) {
        self.live = live
        self.token = token
    }
}

/// The context of every route a member calls on their own session. The session is not optional here:
/// `MemberSessionMiddleware` put it in the parent context, and a request without a live one never reaches a
/// handler.
struct MemberRequestContext: ChildRequestContext {
    var coreContext: CoreRequestContextStorage
    let session: AuthenticatedSession
    let clientIP: String?

    init(context: TeamGateRequestContext) throws {
        guard let session = context.memberSession else { throw TeamGateError.sessionUnknown }
        self.coreContext = context.coreContext
        self.session = session
        self.clientIP = context.clientIP
    }

    var live: LiveSession { session.live }

    /// The member acting on their own session, as the audit records it.
    var origin: RequestOrigin { RequestOrigin(actor: .member(session.live.member), requestID: id, clientIP: clientIP) }
}

/// Whose session this is: 401 with the reason before the handler runs. The token is `Authorization: Bearer`;
/// on the WebSocket route, where browsers cannot set headers, also a subprotocol `teamgate.token.<token>` offered
/// beside `teamgate.v1` (the SDK's way: a header, so no proxy's access log writes it), or `?token=` (older
/// clients; a URL ends up in logs). A refusal is kept for the channel that answers the refused upgrade
/// (`UpgradeRefusals`).
struct MemberSessionMiddleware: RouterMiddleware {
    typealias Context = TeamGateRequestContext
    let signIn: SignIn
    var forWebSocket = false

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        do {
            let token = try token(in: request)
            context.memberSession = AuthenticatedSession(live: try await signIn.currentSession(token: token, clientAddress: context.clientIP), token: token)
        } catch {
            if forWebSocket { UpgradeRefusals.shared.record(error, channel: context.channelID) }
            throw error
        }
        return try await next(request, context)
    }

    private func token(in request: Request) throws -> String {
        if let token = Credentials.sessionToken(in: request.headers) { return token }
        if forWebSocket, let token = SessionEventsController.tokenInSubprotocols(request.headers) { return token }
        if forWebSocket, let token = request.uri.queryParameters.get("token"), !token.isEmpty { return token }
        throw APIError(
            .unauthorized, "Missing session token: send Authorization: Bearer <token>\(forWebSocket ? " or the subprotocols teamgate.v1, teamgate.token.<token>" : "")",
            extra: ["reason": "missing_token"])
    }
}
