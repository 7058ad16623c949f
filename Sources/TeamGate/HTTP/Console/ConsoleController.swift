import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/console`: the admin's place in the browser. Sign-in by code, then the team, a member's sessions,
/// Settings → Developer Documentation (API keys), the audit log, webhooks and Settings → Apps. It drives the same
/// services as the API; every change is audited with the admin as actor.
///
/// Each kind of route is a group with its middleware: the sign-in forms (same origin), the pages of a
/// signed-in admin (`ConsoleAdminMiddleware`, `ConsoleRequestContext`), and the forms that change something
/// (`ConsoleFormMiddleware`, `ConsoleFormContext`: same origin and the session's CSRF token). Handlers only
/// read their context and call the pages.
struct ConsoleController: Sendable {
    let services: TeamGateServices
    let bodyLimit: Int
    let address: ConsoleAddress

    init(services: TeamGateServices, bodyLimit: Int, trustedProxies: [IPNetwork]) {
        self.services = services
        self.bodyLimit = bodyLimit
        self.address = ConsoleAddress(trustedProxies: trustedProxies)
    }

    func addRoutes(to router: Router<TeamGateRequestContext>, table: RouteTable) {
        let home = router.group()
            .add(middleware: ConsoleAdminMiddleware(sessions: services.consoleSessions, address: address, whenSignedOut: .continue))
        Routes(router: home, table: table).on(.get, "/console", use: self.home)
        let signIn = Routes(router: router.group().add(middleware: SameOriginMiddleware(address: address)), table: table)
        signIn.on(.post, "/console/otp", use: requestCode)
        signIn.on(.post, "/console/login", use: logIn)

        let team = ConsoleTeamPages(services: services)
        let settings = ConsoleSettingsPages(services: services, freshCode: ConsoleFreshCode(services: services))
        /// The routes of a signed-in admin, whose refusals are console pages.
        func signedIn(whenSignedOut: ConsoleAdminMiddleware.SignedOutAnswer) -> RouterGroup<ConsoleRequestContext> {
            router.group()
                .add(middleware: ConsoleAdminMiddleware(sessions: services.consoleSessions, address: address, whenSignedOut: whenSignedOut))
                .group(context: ConsoleRequestContext.self)
                .add(middleware: ConsoleErrorMiddleware())
        }
        let read = Routes(router: signedIn(whenSignedOut: .redirectToSignIn), table: table)
        read.on(.get, "/console/team", use: team.team)
        read.on(.get, "/console/members/{id}", use: team.member)
        read.on(.get, "/console/members/{id}/logout", use: team.confirmLogout)
        read.on(.get, "/console/audit", use: ConsoleAuditPages(services: services).audit)
        read.on(.get, "/console/settings/developer", use: settings.developer)
        read.on(.get, "/console/webhooks", use: settings.webhooks)
        let apps = ConsoleAppsPages(services: services, freshCode: ConsoleFreshCode(services: services))
        read.on(.get, "/console/apps", use: apps.apps)
        let provisioning = ConsoleProvisioningPages(services: services, freshCode: ConsoleFreshCode(services: services))
        read.on(.get, ConsoleProvisioningPages.path, use: provisioning.provisioning)

        let forms = signedIn(whenSignedOut: .refuse)
            .add(middleware: ConsoleFormMiddleware(bodyLimit: bodyLimit, address: address))
            .group(context: ConsoleFormContext.self)
        let change = Routes(router: forms, table: table)
        change.on(.post, "/console/logout", use: logOut)
        change.on(.post, "/console/members/{id}/logout", use: team.logOut)
        change.on(.post, "/console/members/{id}/unlock", use: team.unlock)
        change.on(.post, "/console/sessions/{id}/end", use: team.endSession)
        change.on(.post, "/console/keys", use: settings.createKey)
        change.on(.post, "/console/keys/{id}/revoke", use: settings.revokeKey)
        change.on(.post, "/console/webhooks", use: settings.createWebhook)
        change.on(.post, "/console/webhooks/{id}/delete", use: settings.deleteWebhook)
        change.on(.post, "/console/apps", use: apps.register)
        change.on(.post, "/console/apps/{id}/remove", use: apps.remove)
        change.on(.post, "/console/provisioning-tokens", use: provisioning.create)
        change.on(.post, "/console/provisioning-tokens/{id}/revoke", use: provisioning.revoke)
    }

    @Sendable func logOut(_ request: Request, context: ConsoleFormContext) async throws -> Response {
        try await services.signIn.signOut(context.admin.live, origin: context.origin)
        var response = redirect("/console")
        response.headers[.setCookie] = ConsoleAdmin.clearedCookie(secure: context.admin.secure)
        return response
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

    @Sendable func home(_ request: Request, context: TeamGateRequestContext) async throws -> Response {
        context.consoleAdmin == nil ? signInPage() : redirect("/console/team")
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

    @Sendable func requestCode(_ request: Request, context: TeamGateRequestContext) async throws -> Response {
        let form = FormBody.parse(try await JSONObjectBody.readBytes(request, limit: bodyLimit))
        let text = form["phone"] ?? ""
        guard let phone = PhoneNumber(validating: text) else {
            return signInPage(error: "That is not a phone number with its country code.", phone: text)
        }
        do {
            try services.signIn.requestCode(phone: phone, clientAddress: context.clientIP)
        } catch let error as TeamGateError {
            return signInPage(error: APIError(error).message.text, phone: text)
        }
        return codePage(phone: phone.e164)
    }

    @Sendable func logIn(_ request: Request, context: TeamGateRequestContext) async throws -> Response {
        let form = FormBody.parse(try await JSONObjectBody.readBytes(request, limit: bodyLimit))
        guard let phone = PhoneNumber(validating: form["phone"] ?? "") else { return signInPage(error: "Start again: enter your number.") }
        let signedIn: ConsoleSessions.SignedIn
        do {
            signedIn = try await services.consoleSessions.signIn(
                phone: phone, code: form["code"] ?? "", organizationID: form["organizationId"].flatMap { $0.isEmpty ? nil : $0 },
                userAgent: request.headers[.userAgent].map { String($0.prefix(300)) }, ipAddress: context.clientIP, requestID: context.id)
        } catch TeamGateError.organizationRequired(let organizations) {
            return codePage(phone: phone.e164, error: "Choose the team to sign in to, and enter the code again.", organizations: organizations)
        } catch TeamGateError.notPermitted {
            return Self.refusal()
        } catch let error as TeamGateError {
            return codePage(phone: phone.e164, error: APIError(error).message.text)
        }
        var response = redirect("/console/team")
        response.headers[.setCookie] = ConsoleAdmin.cookie(
            token: signedIn.token, maxAge: Int(signedIn.record.live.expiresAt.timeIntervalSince(services.clock.now())),
            secure: address.isSecure(request, peer: context.remoteAddress))
        return response
    }
}

func redirect(_ location: String) -> Response {
    Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
}
