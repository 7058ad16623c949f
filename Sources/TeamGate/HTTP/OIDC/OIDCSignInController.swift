import Foundation
import HTTPTypes
import Hummingbird

/// The browser side of the OpenID Connect provider: the authorization endpoint with TeamGate's sign-in page, and
/// RP-initiated logout. The browser's TeamGate session (one per browser, shared by every app and by forward auth)
/// is `BrowserSessionCookie`.
struct OIDCSignInController {
    let oidc: OIDCProvider
    let browser: BrowserSignIn
    let bodyLimit: Int
    let address: ConsoleAddress

    func addRoutes(to routes: Routes<TeamGateRequestContext>) {
        routes.on(.get, "/oidc/authorize") { request, context in
            try await authorize(AuthorizationRequest(parameters: request.queryFields), request: request, context: context)
        }
        routes.on(.post, "/oidc/authorize", use: signInStep)
        routes.on(.get, "/oidc/logout") { request, context in try await logout(request.queryFields, request: request, context: context) }
        routes.on(.post, "/oidc/logout") { request, context in
            guard address.isSameOrigin(request, peer: context.remoteAddress) else { return SignInPage.refusal("This form came from another site.").render(status: .forbidden) }
            return try await logout(FormBody.parse(try await JSONObjectBody.readBytes(request, limit: bodyLimit)), request: request, context: context)
        }
    }

    /// Straight back to the app with a code while the browser's TeamGate session lives; the sign-in page otherwise.
    func authorize(_ authorization: AuthorizationRequest, request: Request, context: TeamGateRequestContext) async throws -> Response {
        let client: OIDCClient
        do {
            client = try await oidc.check(authorization, clientAddress: context.clientIP)
        } catch let refusal as AuthorizationRefusal {
            return Self.answer(refusal)
        }
        if let live = try await browser.session(request, context: context), let back = try await oidc.approve(authorization, client: client, session: live) {
            return Self.redirect(back)
        }
        if authorization.parameters["prompt"] == "none" { return Self.redirect(oidc.loginRequired(authorization)) }
        return SignInPage.phoneStep(Self.form(authorization, client: client)).render()
    }

    /// The sign-in page's two steps: a code for the number (the same limits and the same answer for strangers as
    /// `POST /auth/otp`), then the code for a TeamGate session in the app's organisation, and back to the app.
    @Sendable func signInStep(_ request: Request, context: TeamGateRequestContext) async throws -> Response {
        guard address.isSameOrigin(request, peer: context.remoteAddress) else { return SignInPage.refusal("This form came from another site.").render(status: .forbidden) }
        let form = FormBody.parse(try await JSONObjectBody.readBytes(request, limit: bodyLimit))
        let authorization = AuthorizationRequest(parameters: form)
        let client: OIDCClient
        do {
            client = try await oidc.check(authorization, clientAddress: context.clientIP)
        } catch let refusal as AuthorizationRefusal {
            return Self.answer(refusal)
        }
        let live: LiveSession
        let cookie: String
        switch try await browser.step(form, form: Self.form(authorization, client: client), organizationID: client.organizationID, request: request, context: context) {
        case .page(let page): return page
        case .signedIn(let session, let setCookie): (live, cookie) = (session, setCookie)
        }
        guard let back = try await oidc.approve(authorization, client: client, session: live) else {
            return SignInPage.refusal("Your TeamGate session ended before the app could be told. Sign in again.").render(status: .forbidden, setCookie: cookie)
        }
        var response = Self.redirect(back)
        response.headers[.setCookie] = cookie
        return response
    }

    /// RP-initiated logout: with an `id_token_hint` the session it names ends at once; without one, the browser's own
    /// session ends once the member confirms (a form of this page).
    func logout(_ parameters: [String: String], request: Request, context: TeamGateRequestContext) async throws -> Response {
        let hint = parameters["id_token_hint"].flatMap { $0.isEmpty ? nil : $0 }
        let cookie = try await browser.session(request, context: context)
        if hint == nil, cookie != nil, parameters["confirm"] != "yes" {
            let kept = parameters.filter { ["post_logout_redirect_uri", "client_id", "state"].contains($0.key) }
            return SignInPage.confirmSignOut(parameters: kept).render()
        }
        let outcome: EndSessionOutcome
        do {
            outcome = try await oidc.endSession(
                idTokenHint: hint, clientID: parameters["client_id"], postLogoutRedirectURI: parameters["post_logout_redirect_uri"],
                state: parameters["state"], cookieSession: cookie, clientAddress: context.clientIP)
        } catch TeamGateError.validation(let problems) {
            return SignInPage.refusal(problems.joined(separator: "; ")).render(status: .badRequest)
        }
        let cleared = browser.cookie.clearing
        switch outcome {
        case .redirect(let location):
            var response = Self.redirect(location)
            response.headers[.setCookie] = cleared
            return response
        case .signedOut:
            return SignInPage.signedOut().render(setCookie: cleared)
        }
    }

    /// The sign-in page as this app's: its name, its request in hidden fields, its redirect URI's origin as a form target.
    static func form(_ authorization: AuthorizationRequest, client: OIDCClient) -> SignInPage.Form {
        SignInPage.Form(app: client.name, action: "/oidc/authorize", parameters: authorization.parameters, formTarget: origin(of: authorization.redirectURI))
    }

    static func answer(_ refusal: AuthorizationRefusal) -> Response {
        switch refusal {
        case .page(let text): SignInPage.refusal(text).render(status: .badRequest)
        case .redirect(let location): redirect(location)
        }
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .found, headers: [.location: location, .cacheControl: "no-store"])
    }

    /// `scheme://host[:port]` of a URI, for the page's form-action.
    static func origin(of uri: String) -> String? {
        guard let url = URL(string: uri), let scheme = url.scheme, let host = url.host else { return nil }
        return "\(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? "")
    }
}
