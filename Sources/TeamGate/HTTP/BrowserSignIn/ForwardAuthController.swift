import Foundation
import HTTPTypes
import Hummingbird

/// Forward auth: a reverse proxy (nginx `auth_request`, Caddy `forward_auth`, Traefik `ForwardAuth`) asks
/// `GET /auth/verify` before every request to an app it protects, and TeamGate answers from the session index,
/// so the very next request after an admin's logout is refused. `/sign-in` and `/sign-out` are the browser's side.
struct ForwardAuthController {
    let browser: BrowserSignIn
    let issuer: String
    let returnAddress: ReturnAddress
    let address: ConsoleAddress
    let bodyLimit: Int

    /// What the proxy passes on to the app: always all five (Caddy passes a missing one's placeholder literally).
    static let remoteUser = HTTPField.Name("Remote-User")!
    static let remoteName = HTTPField.Name("Remote-Name")!
    static let remotePhone = HTTPField.Name("Remote-Phone")!
    static let remoteRole = HTTPField.Name("Remote-Role")!
    static let remoteOrganization = HTTPField.Name("Remote-Organization")!

    func addRoutes(to routes: Routes<TeamGateRequestContext>) {
        routes.on(.get, "/auth/verify", use: verify)
        routes.on(.get, "/sign-in") { request, context in
            let parameters = request.queryFields
            if try await browser.session(request, context: context) != nil { return Self.redirect(destination(parameters["rd"])) }
            return SignInPage.phoneStep(form(parameters["rd"])).render()
        }
        routes.on(.post, "/sign-in", use: signInStep)
        routes.on(.get, "/sign-out", use: signOut)
    }

    /// 200 with the member's `Remote-*` headers for a live session (the cookie, or `Authorization: Bearer`), 403 when
    /// `?role=` names roles and the member's is not one of them; otherwise the way to the sign-in page, in the shape
    /// the asking proxy needs (`ForwardAuthRefusal`).
    @Sendable func verify(_ request: Request, context: TeamGateRequestContext) async throws -> Response {
        if let token = BrowserSessionCookie.token(in: request) ?? Credentials.sessionToken(in: request.headers) {
            do {
                let live = try await browser.signIn.currentSession(token: token, clientAddress: context.clientIP)
                let member = live.member
                if let roles = Self.roles(request), !roles.contains(member.role.name) {
                    return Response(status: .forbidden, headers: [.cacheControl: "no-store"])
                }
                return Response(
                    status: .ok,
                    headers: [
                        .cacheControl: "no-store", Self.remoteUser: member.id, Self.remoteName: member.name,
                        Self.remotePhone: member.phone.e164, Self.remoteRole: member.role.name,
                        Self.remoteOrganization: member.organizationID,
                    ])
            } catch TeamGateError.sessionUnknown, TeamGateError.sessionEnded, TeamGateError.tooManyFailedAttempts {
                // A made-up, ended or (past the address's allowance) unchecked cookie: the way to sign in, like none.
            }
        }
        return ForwardAuthRefusal(request, fromTrustedProxy: address.isFromTrustedProxy(context.remoteAddress), issuer: issuer).response
    }

    @Sendable func signInStep(_ request: Request, context: TeamGateRequestContext) async throws -> Response {
        guard address.isSameOrigin(request, peer: context.remoteAddress) else { return SignInPage.refusal("This form came from another site.").render(status: .forbidden) }
        let fields = FormBody.parse(try await JSONObjectBody.readBytes(request, limit: bodyLimit))
        switch try await browser.step(fields, form: form(fields["rd"]), organizationID: nil, request: request, context: context) {
        case .page(let page):
            return page
        case .signedIn(_, let setCookie):
            var response = Self.redirect(destination(fields["rd"]))
            response.headers[.setCookie] = setCookie
            return response
        }
    }

    /// Ends the browser's session (no session is no error) and sends it back by the same rule as the sign-in.
    @Sendable func signOut(_ request: Request, context: TeamGateRequestContext) async throws -> Response {
        if let live = try await browser.session(request, context: context) {
            try await browser.signIn.signOut(live, origin: RequestOrigin(actor: .member(live.member), clientIP: context.clientIP))
        }
        let rd = request.queryFields["rd"]
        var response = rd.map(returnAddress.allows) == true ? Self.redirect(rd ?? "/sign-in") : SignInPage.signedOut().render()
        response.headers[.setCookie] = browser.cookie.clearing
        return response
    }

    /// `rd` when the return rule allows it; TeamGate's own member page otherwise.
    func destination(_ rd: String?) -> String {
        guard let rd, returnAddress.allows(rd) else { return "/app" }
        return rd
    }

    /// The sign-in page with `rd` in a hidden field; the app it leads back to may be the last form's target (browsers
    /// hold a form's redirect to its `form-action`).
    func form(_ rd: String?) -> SignInPage.Form {
        SignInPage.Form(
            app: nil, action: "/sign-in", parameters: rd.map { ["rd": $0] } ?? [:],
            formTarget: rd.flatMap { returnAddress.allows($0) ? OIDCSignInController.origin(of: $0) : nil })
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .found, headers: [.location: location, .cacheControl: "no-store"])
    }

    /// `?role=Team Lead` (several: `?role=Owner,Admin`): the roles a location admits.
    static func roles(_ request: Request) -> [String]? {
        guard request.uri.query != nil, let text = request.queryFields["role"], !text.isEmpty else { return nil }
        return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }
}
