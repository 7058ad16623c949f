import Foundation
import Hummingbird

/// Settings → Apps: the apps that sign the organisation's members in through TeamGate (OpenID Connect clients).
/// Like keys and webhooks they are the Owner's (`TeamRules`): for anyone else the service refuses, and the page says
/// why. Registering one hands out a client secret, so it asks for a fresh code first.
struct ConsoleAppsPages: Sendable {
    let services: TeamGateServices
    let freshCode: ConsoleFreshCode

    @Sendable func apps(_ request: Request, context: ConsoleRequestContext) async throws -> Response {
        try await apps(context.admin, origin: context.origin)
    }

    private func apps(_ admin: ConsoleAdmin, origin: RequestOrigin, registered: OIDCProvider.RegisteredApp? = nil, error: String? = nil)
        async throws -> Response
    {
        let rows = try await services.oidc.apps(organizationID: admin.organizationID, origin: origin).map { app in
            """
            <tr><td>\(HTML.escape(app.name))</td><td><code>\(HTML.escape(app.id))</code></td><td>\(app.isPublic ? "public (PKCE)" : "confidential")</td>
            <td>\(app.redirectURIs.map { "<code>\(HTML.escape($0))</code>" }.joined(separator: "<br>"))</td>
            <td>\(app.backchannelLogoutURI.map { "<code>\(HTML.escape($0))</code>" } ?? "—")</td>
            <td>\(HTML.form(action: "/console/apps/\(app.id)/remove", csrf: admin.csrf, label: "Remove", style: "danger", confirm: "Remove \(app.name)? Its members' sign-ins to it end."))</td></tr>
            """
        }.joined()
        let created =
            registered.map { app in
                """
                <section class="card new-key" data-replace-url="/console/apps"><h2>\(HTML.escape(app.client.name)) is registered</h2>
                <p>Client id <code>\(HTML.escape(app.client.id))</code>; issuer <code>\(HTML.escape(services.oidc.issuer))</code>
                (discovery at <code>/.well-known/openid-configuration</code>).</p>
                \(app.secret.map { secret in
                    """
                    <p class="warning"><strong>Copy the client secret now: it is shown only once.</strong></p>
                    <div class="field-row"><label for="new-secret" class="visually-hidden">Client secret</label><input id="new-secret" readonly value="\(HTML.escape(secret))">
                    <button type="button" class="ghost" data-copy="new-secret">Copy</button></div>
                    """
                } ?? "<p>A public app has no secret: it must use PKCE (S256).</p>")</section>
                """
            } ?? ""
        return ConsolePage(
            title: "Apps", section: .apps, admin: admin.live, csrf: admin.csrf, flash: error,
            body: """
                \(created)
                <p>Apps sign your team in through TeamGate (OpenID Connect). When a member's TeamGate session ends, every app they
                signed in to through it is told at once (back-channel logout) and its tokens stop working.</p>
                <div class="table-scroll"><table><thead><tr><th scope="col">App</th><th scope="col">Client id</th><th scope="col">Kind</th>
                <th scope="col">Redirect URIs</th><th scope="col">Back-channel logout</th><th scope="col"></th></tr></thead>
                <tbody>\(rows.isEmpty ? "<tr><td colspan=\"6\">No app yet.</td></tr>" : rows)</tbody></table></div>
                <form method="post" action="/console/apps" class="card stack">
                <input type="hidden" name="csrf" value="\(admin.csrf)">
                <label for="name">Name</label><input id="name" name="name" required maxlength="200" placeholder="Helpdesk">
                <label for="redirect">Redirect URIs (one a line)</label><textarea id="redirect" name="redirectUris" required rows="2" placeholder="https://helpdesk.example.com/redirect_uri"></textarea>
                <label for="postLogout">Post-logout redirect URIs (one a line, optional)</label><textarea id="postLogout" name="postLogoutRedirectUris" rows="2"></textarea>
                <label for="backchannel">Back-channel logout URI (optional)</label><input id="backchannel" name="backchannelLogoutUri" type="url" placeholder="https://helpdesk.example.com/redirect_uri?logout=backchannel">
                <label class="check"><input type="checkbox" name="public" value="on"> A public app (browser or mobile: no secret, PKCE)</label>
                <button type="submit" class="try-it">Register app</button></form>
                """
        ).render(status: error != nil ? .badRequest : registered == nil ? .ok : .created)
    }

    @Sendable func register(_ request: Request, context: ConsoleFormContext) async throws -> Response {
        let form = context.form
        let fields = ["name", "redirectUris", "postLogoutRedirectUris", "backchannelLogoutUri", "public"]
        let carried = form.filter { fields.contains($0.key) }
        let confirmation = try await freshCode.confirm(
            context, action: "/console/apps", purpose: "register an app", carried: carried, userAgent: request.headers[.userAgent])
        guard case .confirmed(let admin, let setCookie) = confirmation else { return confirmation.askingPage }
        let origin = admin.origin(requestID: context.origin.requestID, clientIP: context.clientIP)
        let lines = { (name: String) in
            (form[name] ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        let backchannel = (form["backchannelLogoutUri"] ?? "").trimmingCharacters(in: .whitespaces)
        var response: Response
        do {
            let registered = try await services.oidc.register(
                OIDCClientRequest(
                    name: form["name"] ?? "", redirectURIs: lines("redirectUris"), postLogoutRedirectURIs: lines("postLogoutRedirectUris"),
                    backchannelLogoutURI: backchannel.isEmpty ? nil : backchannel, isPublic: form["public"] == "on"),
                organizationID: admin.organizationID, origin: origin)
            response = try await apps(admin, origin: origin, registered: registered)
        } catch TeamGateError.validation(let problems) {
            response = try await apps(admin, origin: origin, error: problems.joined(separator: " "))
        }
        if let setCookie { response.headers[.setCookie] = setCookie }
        return response
    }

    @Sendable func remove(_ request: Request, context: ConsoleFormContext) async throws -> Response {
        do {
            try await services.oidc.remove(appID: try context.parameters.require("id"), organizationID: context.admin.organizationID, origin: context.origin)
        } catch TeamGateError.appNotFound {
            // Already gone (removed in another tab): the list shows the outcome either way.
        }
        return redirect("/console/apps")
    }
}
