import Foundation
import Hummingbird

/// Settings → Developer Documentation (API keys) and webhooks. A new key or signing secret is shown in the
/// answer to the form that made it, after a fresh code (`ConsoleFreshCode`): it is kept nowhere, so the next
/// request may reach any instance; the page's script takes the form out of the history, so a reload does not post it again.
struct ConsoleSettingsPages: Sendable {
    let services: TeamGateServices
    let freshCode: ConsoleFreshCode

    // MARK: Developer Documentation

    @Sendable func developer(_ request: Request, context: ConsoleRequestContext) async throws -> Response {
        try await developer(context.admin, origin: context.origin)
    }

    private func developer(_ admin: ConsoleAdmin, origin: RequestOrigin, issued: String? = nil) async throws -> Response {
        // Keys are the Owner's (`TeamRules`): for anyone else the service refuses, and the page says why.
        let keys = try await services.directory.apiKeys(organizationID: admin.organizationID, origin: origin)
        let shown =
            issued.map {
                Self.secretCard(
                    $0, title: "Your new API key", page: "/console/settings/developer",
                    use: "Paste it into the <strong>Credentials</strong> field of the <a href=\"/docs/reference/logout-team-member\">API reference</a>, as the <code>x-public-key</code> header.")
            } ?? ""
        return ConsolePage(
            title: "Developer Documentation", section: .developer, admin: admin.live, csrf: admin.csrf,
            body: """
                \(shown)
                <p>API keys authorise calls to the TeamGate API, such as <a href="/docs/reference/logout-team-member">Logout a Team Member</a>. \
                Send one in the <code>x-public-key</code> header. Do not share a key publicly.</p>
                <h2>Create a key</h2>
                <form method="post" action="/console/keys" class="card stack">
                <input type="hidden" name="csrf" value="\(admin.csrf)">
                <label for="key-name">Name (to tell keys apart)</label>
                <input id="key-name" name="name" maxlength="200" required placeholder="e.g. Helpdesk integration">
                <button type="submit" class="try-it">Create API key</button></form>
                <h2>Keys</h2>
                \(Self.keyTable(keys, csrf: admin.csrf, revoking: "/console/keys", refusal: "Requests made with it will be refused."))
                """
        ).render(status: issued == nil ? .ok : .created)
    }

    /// A table of keys of one purpose, newest first, each with its revoke form (posting to `<revoking>/<id>/revoke`).
    static func keyTable(_ keys: [APIKey], csrf: String, revoking: String, refusal: String) -> String {
        let rows = keys.sorted { $0.createdAt > $1.createdAt }.map { key in
            """
            <tr><td><code>\(HTML.escape(key.prefix))…</code></td><td>\(HTML.escape(key.name))</td><td>\(HTML.time(key.createdAt))</td>
            <td>\(HTML.time(key.lastUsedAt))</td><td>\(key.isRevoked ? "Revoked \(HTML.time(key.revokedAt))" : "Active")</td>
            <td>\(key.isRevoked ? "" : HTML.form(action: "\(revoking)/\(key.id)/revoke", csrf: csrf, label: "Revoke", style: "danger", confirm: "Revoke \(key.prefix)…? \(refusal)"))</td></tr>
            """
        }.joined()
        return """
            <div class="table-scroll"><table><thead><tr><th scope="col">Key</th><th scope="col">Name</th><th scope="col">Created</th>
            <th scope="col">Last used</th><th scope="col">State</th><th scope="col"></th></tr></thead><tbody>\(rows)</tbody></table></div>
            """
    }

    /// A secret just made, shown once with a copy button; the page's script takes the answer out of the history (`page`).
    static func secretCard(_ secret: String, title: String, page: String, use: String) -> String {
        """
        <section class="card new-key" aria-labelledby="new-key-heading" data-replace-url="\(page)">
        <h2 id="new-key-heading">\(HTML.escape(title))</h2>
        <p class="warning"><strong>Copy it now: it is shown only once. Do not share this key publicly.</strong></p>
        <div class="field-row"><label for="new-key" class="visually-hidden">\(HTML.escape(title))</label>
        <input id="new-key" readonly value="\(HTML.escape(secret))"><button type="button" class="ghost" data-copy="new-key">Copy</button></div>
        <p>\(use)</p>
        </section>
        """
    }

    @Sendable func createKey(_ request: Request, context: ConsoleFormContext) async throws -> Response {
        try await Self.createKey(
            .publicAPI, request, context, services: services, freshCode: freshCode, action: "/console/keys", asking: "create an API key",
            defaultName: "console key", page: developer)
    }

    /// Makes a key of `purpose` named by the form, after a fresh code (`action` and `asking` say what for), and answers
    /// `page` showing its secret once: the one way the console hands out an API key or a provisioning token.
    static func createKey(
        _ purpose: APIKey.Purpose, _ request: Request, _ context: ConsoleFormContext, services: TeamGateServices, freshCode: ConsoleFreshCode,
        action: String, asking: String, defaultName: String,
        page: (_ admin: ConsoleAdmin, _ origin: RequestOrigin, _ issued: String?) async throws -> Response
    ) async throws -> Response {
        let nameText = context.form["name"] ?? ""
        let name = try MemberName(parsing: nameText.isEmpty ? defaultName : nameText)
        let confirmation = try await freshCode.confirm(context, action: action, purpose: asking, carried: ["name": nameText], userAgent: request.headers[.userAgent])
        guard case .confirmed(let admin, let setCookie) = confirmation else { return confirmation.askingPage }
        let origin = admin.origin(requestID: context.origin.requestID, clientIP: context.clientIP)
        let issued = try await services.directory.createAPIKey(organizationID: admin.organizationID, name: name, purpose: purpose, origin: origin)
        var response = try await page(admin, origin, issued.secret)
        if let setCookie { response.headers[.setCookie] = setCookie }
        return response
    }

    @Sendable func revokeKey(_ request: Request, context: ConsoleFormContext) async throws -> Response {
        _ = try await services.directory.revokeAPIKey(
            organizationID: context.admin.organizationID, idOrPrefix: try context.parameters.require("id"), origin: context.origin)
        return redirect("/console/settings/developer")
    }

    // MARK: Webhooks

    @Sendable func webhooks(_ request: Request, context: ConsoleRequestContext) async throws -> Response {
        try await webhooks(context.admin, origin: context.origin)
    }

    /// Webhooks carry members' names and numbers out of TeamGate, so, like keys, only the Owner manages them
    /// (`TeamRules`): for anyone else the service refuses, and the page says why.
    private func webhooks(_ admin: ConsoleAdmin, origin: RequestOrigin, secret created: String? = nil, error: String? = nil) async throws -> Response {
        var sections = ""
        // Two reads however many webhooks: the webhooks, and the newest deliveries of each at once.
        let recent = try await services.webhooks.recentDeliveries(organizationID: admin.organizationID, limit: 10, origin: origin)
        for hook in try await services.webhooks.list(organizationID: admin.organizationID, origin: origin) {
            let rows = (recent[hook.id] ?? []).map {
                "<tr><td>\(HTML.time($0.createdAt))</td><td><code>\($0.event.rawValue)</code></td><td>\($0.state.rawValue)</td><td>\($0.attempts)</td><td>\($0.lastStatus.map(String.init) ?? HTML.escape($0.lastError ?? "—"))</td></tr>"
            }.joined()
            sections += """
                <section class="card"><h3><code>\(HTML.escape(hook.url.absoluteString))</code></h3>
                <p>\(hook.events.map { "<code>\($0.rawValue)</code>" }.joined(separator: " "))</p>
                \(HTML.form(action: "/console/webhooks/\(hook.id)/delete", csrf: admin.csrf, label: "Delete", style: "danger", confirm: "Delete this webhook? Queued deliveries are dropped."))
                <div class="table-scroll"><table><thead><tr><th scope="col">Queued</th><th scope="col">Event</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Last answer</th></tr></thead>
                <tbody>\(rows.isEmpty ? "<tr><td colspan=\"5\">No delivery yet.</td></tr>" : rows)</tbody></table></div></section>
                """
        }
        let secret =
            created.map {
                """
                <section class="card new-key" data-replace-url="/console/webhooks"><h2>Signing secret</h2>
                <p class="warning"><strong>Copy it now: it is shown only once.</strong> Deliveries carry <code>X-TeamGate-Signature: t=…,v1=…</code>, an HMAC-SHA256 with this secret.</p>
                <div class="field-row"><label for="new-secret" class="visually-hidden">Signing secret</label><input id="new-secret" readonly value="\(HTML.escape($0))">
                <button type="button" class="ghost" data-copy="new-secret">Copy</button></div></section>
                """
            } ?? ""
        let boxes = WebhookEvent.allCases.map {
            "<label class=\"check\"><input type=\"checkbox\" name=\"event.\($0.rawValue)\" value=\"on\" checked> <code>\($0.rawValue)</code></label>"
        }.joined()
        return ConsolePage(
            title: "Webhooks", section: .webhooks, admin: admin.live, csrf: admin.csrf, flash: error,
            body: """
                \(secret)
                <form method="post" action="/console/webhooks" class="card stack">
                <input type="hidden" name="csrf" value="\(admin.csrf)">
                <label for="url">Receiver URL</label><input id="url" name="url" type="url" required placeholder="https://crm.example.com/hooks/teamgate">
                <fieldset><legend>Events</legend>\(boxes)</fieldset>
                <button type="submit" class="try-it">Add webhook</button></form>
                \(sections)
                """
        ).render(status: error != nil ? .badRequest : created == nil ? .ok : .created)
    }

    @Sendable func createWebhook(_ request: Request, context: ConsoleFormContext) async throws -> Response {
        let form = context.form
        let events = WebhookEvent.allCases.filter { form["event.\($0.rawValue)"] == "on" }
        let url = form["url"] ?? ""
        let carried = Dictionary(uniqueKeysWithValues: [("url", url)] + events.map { ("event.\($0.rawValue)", "on") })
        let confirmation = try await freshCode.confirm(
            context, action: "/console/webhooks", purpose: "add a webhook", carried: carried, userAgent: request.headers[.userAgent])
        guard case .confirmed(let admin, let setCookie) = confirmation else { return confirmation.askingPage }
        let origin = admin.origin(requestID: context.origin.requestID, clientIP: context.clientIP)
        var response: Response
        do {
            let hook = try await services.webhooks.create(organizationID: admin.organizationID, url: url, events: events, origin: origin)
            response = try await webhooks(admin, origin: origin, secret: hook.secret)
        } catch TeamGateError.validation(let problems) {
            response = try await webhooks(admin, origin: origin, error: problems.joined(separator: " "))
        }
        if let setCookie { response.headers[.setCookie] = setCookie }
        return response
    }

    @Sendable func deleteWebhook(_ request: Request, context: ConsoleFormContext) async throws -> Response {
        do {
            try await services.webhooks.delete(organizationID: context.admin.organizationID, id: try context.parameters.require("id"), origin: context.origin)
        } catch TeamGateError.webhookNotFound {
            // Already gone (deleted in another tab): the list shows the outcome either way.
        }
        return redirect("/console/webhooks")
    }
}
