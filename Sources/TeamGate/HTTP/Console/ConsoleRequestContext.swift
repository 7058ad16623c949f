import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The context of every console page for a signed-in admin: the admin is not optional here
/// (`ConsoleAdminMiddleware` put them in the parent context).
struct ConsoleRequestContext: ChildRequestContext {
    var coreContext: CoreRequestContextStorage
    let admin: ConsoleAdmin
    let clientIP: String?
    /// The connection's peer: whether a proxy's forwarded scheme and host are believed (`ConsoleAddress`).
    let remoteAddress: SocketAddress?
    /// The form of a state-changing request, once `ConsoleFormMiddleware` checked its origin and CSRF token;
    /// `ConsoleFormContext` requires it.
    var form: [String: String]?

    init(context: TeamGateRequestContext) throws {
        guard let admin = context.consoleAdmin else { throw TeamGateError.sessionUnknown }
        self.coreContext = context.coreContext
        self.admin = admin
        self.clientIP = context.clientIP
        self.remoteAddress = context.remoteAddress
    }

    /// The admin acting, as the audit records it.
    var origin: RequestOrigin { admin.origin(requestID: id, clientIP: clientIP) }
}

/// The context of a console form that changes something: same-origin, with the session's CSRF token.
struct ConsoleFormContext: ChildRequestContext {
    var coreContext: CoreRequestContextStorage
    let admin: ConsoleAdmin
    let form: [String: String]
    let origin: RequestOrigin
    let clientIP: String?

    init(context: ConsoleRequestContext) throws {
        guard let form = context.form else { throw TeamGateError.sessionUnknown }
        self.coreContext = context.coreContext
        self.admin = context.admin
        self.form = form
        self.origin = context.origin
        self.clientIP = context.clientIP
    }
}

/// Who is signed in to the console, from its cookie: a console session only (a device's token opens nothing
/// here), not idle, within its lifetime. Signed out (or ended, or unknown), a page is sent to sign in and a form
/// refused; a role the console is not for gets the refusal page. `whenSignedOut: .continue` lets the console's
/// home page answer both.
struct ConsoleAdminMiddleware: RouterMiddleware {
    typealias Context = TeamGateRequestContext
    enum SignedOutAnswer: Sendable { case redirectToSignIn, refuse, `continue` }

    let sessions: ConsoleSessions
    let address: ConsoleAddress
    let whenSignedOut: SignedOutAnswer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let secure = address.isSecure(request, peer: context.remoteAddress)
        if let token = ConsoleAdmin.token(in: request, secure: secure) {
            do {
                let record = try await sessions.session(token: token, clientAddress: context.clientIP)
                guard TeamRules.mayUseConsole(record.live.member.role) else { return ConsoleController.refusal() }
                context.consoleAdmin = ConsoleAdmin(record: record, token: token, secure: secure)
            } catch is TeamGateError {
                // Ended, idle, unknown or over the unknown-token allowance: the admin signs in again.
            }
        }
        if context.consoleAdmin == nil {
            switch whenSignedOut {
            case .redirectToSignIn: return redirect("/console")
            case .refuse: return ConsoleController.forbidden("Sign in to the console first.")
            case .continue: break
            }
        }
        return try await next(request, context)
    }
}

/// A console form that changes something: read (within the body limit), then refused unless it comes from
/// this console's own pages (same origin, the session's CSRF token).
struct ConsoleFormMiddleware: RouterMiddleware {
    typealias Context = ConsoleRequestContext
    let bodyLimit: Int
    let address: ConsoleAddress

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let form = FormBody.parse(try await JSONObjectBody.readBytes(request, limit: bodyLimit))
        guard address.isSameOrigin(request, peer: context.remoteAddress), let csrf = form["csrf"], csrf == context.admin.csrf else {
            return ConsoleController.forbidden(
                "This form did not come from this console (its security token is missing or wrong). Reload the page and try again.")
        }
        var context = context
        context.form = form
        return try await next(request, context)
    }
}

/// The console's sign-in forms come from its own pages only: a browser's `Origin` must be this console's
/// address, as the browser sees it (through a trusted proxy, its forwarded host and scheme).
struct SameOriginMiddleware: RouterMiddleware {
    typealias Context = TeamGateRequestContext
    let address: ConsoleAddress

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard address.isSameOrigin(request, peer: context.remoteAddress) else {
            return ConsoleController.forbidden("Cross-site sign-in is not allowed.")
        }
        return try await next(request, context)
    }
}

/// A refusal of a service, on a console page with the words the API uses. What a console address names and
/// the team does not have (a member, a session, a webhook) is a 404 here, as pages are.
struct ConsoleErrorMiddleware: RouterMiddleware {
    typealias Context = ConsoleRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as TeamGateError {
            let answer = APIError(error)
            let status: HTTPResponse.Status =
                switch error {
                case .memberNotFound, .sessionNotFound, .webhookNotFound, .apiKeyNotFound: .notFound
                default: answer.status
                }
            return ConsolePage(
                title: status == .notFound ? "Not found" : "Not allowed", admin: context.admin.live, csrf: context.admin.csrf,
                body: "<p class=\"warning\">\(HTML.escape(answer.message.text))</p>"
            ).render(status: status)
        }
    }
}
