import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/console`: the admin's place in the browser. Sign-in by code, then the team, a member's sessions,
/// Settings → Developer Documentation (API keys), the audit log and webhooks. It drives the same
/// services as the API; every change is audited with the admin as actor.
struct ConsoleController: Sendable {
    let services: TeamGateServices
    let bodyLimit: Int

    func addRoutes(to routes: Routes<TeamGateRequestContext>) {
        routes.on(.get, "/console") { request, context in try await home(request, context) }
        routes.on(.post, "/console/otp") { request, context in try await requestCode(request, context) }
        routes.on(.post, "/console/login") { request, context in try await logIn(request, context) }
        routes.on(.post, "/console/logout") { request, context in
            try await change(request, context) { admin, _ in
                try await services.signIn.signOut(token: admin.token, clientIP: context.clientIP)
                var response = redirect("/console")
                response.headers[.setCookie] = ConsoleAdmin.clearedCookie(secure: ConsoleAdmin.isSecure(request))
                return response
            }
        }
        let team = ConsoleTeamPages(services: services)
        let settings = ConsoleSettingsPages(services: services)
        routes.on(.get, "/console/team") { request, context in
            try await page(request, context) { admin in try await team.team(admin, request) }
        }
        routes.on(.get, "/console/members/{id}") { request, context in
            try await page(request, context) { admin in try await team.member(admin, id: try context.parameters.require("id")) }
        }
        routes.on(.get, "/console/members/{id}/logout") { request, context in
            try await page(request, context) { admin in try await team.confirmLogout(admin, id: try context.parameters.require("id")) }
        }
        routes.on(.post, "/console/members/{id}/logout") { request, context in
            try await change(request, context) { admin, form in try await team.logOut(admin, id: try context.parameters.require("id"), form: form) }
        }
        routes.on(.post, "/console/members/{id}/unlock") { request, context in
            try await change(request, context) { admin, _ in try await team.unlock(admin, id: try context.parameters.require("id")) }
        }
        routes.on(.post, "/console/sessions/{id}/end") { request, context in
            try await change(request, context) { admin, form in try await team.endSession(admin, id: try context.parameters.require("id"), form: form) }
        }
        routes.on(.get, "/console/audit") { request, context in
            try await page(request, context) { admin in try await settings.audit(admin, request) }
        }
        routes.on(.get, "/console/settings/developer") { request, context in
            try await page(request, context) { admin in try await settings.developer(admin, request) }
        }
        routes.on(.post, "/console/keys") { request, context in
            try await change(request, context) { admin, form in try await settings.createKey(admin, form: form) }
        }
        routes.on(.post, "/console/keys/{id}/revoke") { request, context in
            try await change(request, context) { admin, _ in try await settings.revokeKey(admin, id: try context.parameters.require("id")) }
        }
        routes.on(.get, "/console/webhooks") { request, context in
            try await page(request, context) { admin in try await settings.webhooks(admin, request) }
        }
        routes.on(.post, "/console/webhooks") { request, context in
            try await change(request, context) { admin, form in try await settings.createWebhook(admin, form: form) }
        }
        routes.on(.post, "/console/webhooks/{id}/delete") { request, context in
            try await change(request, context) { admin, _ in try await settings.deleteWebhook(admin, id: try context.parameters.require("id")) }
        }
    }

    // MARK: Access

    /// The signed-in admin, or why there is none.
    private enum Access {
        case admin(ConsoleAdmin)
        case signedOut
        case refused(LiveSession)
    }

    private func access(_ request: Request, _ context: TeamGateRequestContext) async throws -> Access {
        guard let token = ConsoleAdmin.token(in: request) else { return .signedOut }
        let live: LiveSession
        do {
            live = try await services.signIn.currentSession(token: token, clientAddress: context.clientIP)
        } catch is TeamGateError {
            // Ended, unknown or over the unknown-token allowance: the admin signs in again.
            return .signedOut
        }
        guard ConsoleAdmin.roles.contains(live.member.role) else { return .refused(live) }
        return .admin(ConsoleAdmin(live: live, token: token, origin: RequestOrigin(actor: "member:\(live.member.id)", requestID: context.id, clientIP: context.clientIP)))
    }

    /// A page for a signed-in admin; others are sent to sign in, or refused.
    private func page(_ request: Request, _ context: TeamGateRequestContext, _ render: (ConsoleAdmin) async throws -> Response) async throws -> Response {
        switch try await access(request, context) {
        case .signedOut: return redirect("/console")
        case .refused: return Self.refusal()
        case .admin(let admin): return try await render(admin)
        }
    }

    /// A state-changing form: same-origin only, with the session's CSRF token.
    private func change(
        _ request: Request, _ context: TeamGateRequestContext, _ perform: (ConsoleAdmin, [String: String]) async throws -> Response
    ) async throws -> Response {
        guard case .admin(let admin) = try await access(request, context) else { return Self.forbidden("Sign in to the console first.") }
        let form = FormBody.parse(try await JSONObjectBody.readBytes(request, limit: bodyLimit))
        guard Self.sameOrigin(request), let csrf = form["csrf"], csrf == admin.csrf else {
            return Self.forbidden("This form did not come from this console (its security token is missing or wrong). Reload the page and try again.")
        }
        return try await perform(admin, form)
    }

    static func sameOrigin(_ request: Request) -> Bool {
        guard let origin = request.headers[HTTPField.Name("Origin")!] else { return true }
        guard let host = request.head.authority else { return false }
        return origin == "http://\(host)" || origin == "https://\(host)"
    }

    static func refusal() -> Response {
        ConsolePage(
            title: "Not for this role",
            body: "<p>The console is for the team's Owner and Team Leads. Your role does not include it; ask your Owner if you need access.</p>"
        ).render(status: .forbidden)
    }

    static func forbidden(_ message: String) -> Response {
        ConsolePage(title: "Refused", body: "<p>\(HTML.escape(message))</p><p><a href=\"/console\">Back to the console</a></p>").render(status: .forbidden)
    }

    // MARK: Sign-in

    private func home(_ request: Request, _ context: TeamGateRequestContext) async throws -> Response {
        switch try await access(request, context) {
        case .admin: return redirect("/console/team")
        case .refused: return Self.refusal()
        case .signedOut: return signInPage()
        }
    }

    private func signInPage(error: String? = nil, phone: String = "") -> Response {
        ConsolePage(
            title: "Sign in to the console",
            flash: error,
            body: """
                <p>Owners and Team Leads sign in with their login number; a one-time code is sent to it.</p>
                <form method="post" action="/console/otp" class="card stack">
                <label for="phone">Login phone number, with country code</label>
                <input id="phone" name="phone" type="tel" autocomplete="tel" required value="\(HTML.escape(phone))" placeholder="+91 93000 00001">
                <button type="submit" class="try-it">Send me a code</button>
                </form>
                """
        ).render(status: error == nil ? .ok : .badRequest)
    }

    private func codePage(phone: String, error: String? = nil, organizations: [Organization] = []) -> Response {
        let chooser =
            organizations.isEmpty
            ? ""
            : """
            <label for="organization">Your number is on several teams: choose one</label>
            <select id="organization" name="organizationId">\(organizations.map { "<option value=\"\(HTML.escape($0.id))\">\(HTML.escape($0.name))</option>" }.joined())</select>
            """
        return ConsolePage(
            title: "Enter your code",
            flash: error,
            body: """
                <p>If \(HTML.escape(phone)) belongs to a team member, a 6-digit code has been sent to it. It is valid for 5 minutes.</p>
                <form method="post" action="/console/login" class="card stack">
                <input type="hidden" name="phone" value="\(HTML.escape(phone))">
                <label for="code">Code</label>
                <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required>
                \(chooser)
                <button type="submit" class="try-it">Sign in</button>
                </form>
                """
        ).render(status: error == nil ? .ok : .unauthorized)
    }

    private func requestCode(_ request: Request, _ context: TeamGateRequestContext) async throws -> Response {
        let form = FormBody.parse(try await JSONObjectBody.readBytes(request, limit: bodyLimit))
        let text = form["phone"] ?? ""
        guard Self.sameOrigin(request) else { return Self.forbidden("Cross-site sign-in is not allowed.") }
        guard let phone = try? PhoneNumber(parsing: text) else {
            return signInPage(error: "That is not a phone number with its country code.", phone: text)
        }
        do {
            try services.signIn.requestCode(phone: phone, clientAddress: context.clientIP)
        } catch let error as TeamGateError {
            return signInPage(error: APIError(error).message.text, phone: text)
        }
        return codePage(phone: phone.e164)
    }

    private func logIn(_ request: Request, _ context: TeamGateRequestContext) async throws -> Response {
        let form = FormBody.parse(try await JSONObjectBody.readBytes(request, limit: bodyLimit))
        guard Self.sameOrigin(request) else { return Self.forbidden("Cross-site sign-in is not allowed.") }
        guard let phone = try? PhoneNumber(parsing: form["phone"] ?? "") else { return signInPage(error: "Start again: enter your number.") }
        let signedIn: SignIn.SignedIn
        do {
            signedIn = try await services.signIn.signIn(
                phone: phone, code: form["code"] ?? "", deviceName: "Admin console", organizationID: form["organizationId"].flatMap { $0.isEmpty ? nil : $0 },
                userAgent: request.headers[.userAgent].map { String($0.prefix(300)) }, ipAddress: context.clientIP)
        } catch TeamGateError.organizationRequired(let organizations) {
            return codePage(phone: phone.e164, error: "Choose the team to sign in to, and enter the code again.", organizations: organizations)
        } catch let error as TeamGateError {
            return codePage(phone: phone.e164, error: APIError(error).message.text)
        }
        guard ConsoleAdmin.roles.contains(signedIn.member.role) else {
            // The code was right, but the role may not use the console: the session is not kept.
            try await services.signIn.signOut(token: signedIn.token, clientIP: context.clientIP)
            return Self.refusal()
        }
        var response = redirect("/console/team")
        response.headers[.setCookie] = ConsoleAdmin.cookie(
            token: signedIn.token, maxAge: Int(signedIn.session.expiresAt.timeIntervalSinceNow), secure: ConsoleAdmin.isSecure(request))
        return response
    }
}

func redirect(_ location: String) -> Response {
    Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
}

extension APIError.Message {
    var text: String {
        switch self {
        case .text(let text): text
        case .list(let list): list.joined(separator: " ")
        }
    }
}
