import Foundation
import Hummingbird

/// Settings → Developer Documentation (API keys), the audit log, and webhooks.
struct ConsoleSettingsPages: Sendable {
    let services: TeamGateServices
    let notes: OneTimeNotes

    init(services: TeamGateServices) {
        self.services = services
        self.notes = OneTimeNotes(clock: services.clock)
    }

    // MARK: Developer Documentation

    @Sendable func developer(_ request: Request, context: ConsoleRequestContext) async throws -> Response {
        let admin = context.admin
        // Keys are the Owner's (`TeamRules`): for anyone else the service refuses, and the page says why.
        let keys = try await services.directory.apiKeys(organizationID: admin.organizationID, origin: context.origin).sorted { $0.createdAt > $1.createdAt }
        let issued = notes.take(request.uri.queryParameters.get("shown"), owner: admin.csrf)
        let rows = keys.map { key in
            """
            <tr><td><code>\(HTML.escape(key.prefix))…</code></td><td>\(HTML.escape(key.name))</td><td>\(HTML.time(key.createdAt))</td>
            <td>\(HTML.time(key.lastUsedAt))</td><td>\(key.isRevoked ? "Revoked \(HTML.time(key.revokedAt))" : "Active")</td>
            <td>\(key.isRevoked ? "" : HTML.form(action: "/console/keys/\(key.id)/revoke", csrf: admin.csrf, label: "Revoke", style: "danger", confirm: "Revoke \(key.prefix)…? Requests made with it will be refused."))</td></tr>
            """
        }.joined()
        let shown =
            issued.map { issued in
                """
                <section class="card new-key" aria-labelledby="new-key-heading">
                <h2 id="new-key-heading">Your new API key</h2>
                <p class="warning"><strong>Copy it now: it is shown only once. Do not share this key publicly.</strong></p>
                <div class="field-row"><label for="new-key" class="visually-hidden">New API key</label>
                <input id="new-key" readonly value="\(HTML.escape(issued))"><button type="button" class="ghost" data-copy="new-key">Copy</button></div>
                <p>Paste it into the <strong>Credentials</strong> field of the <a href="/docs/reference/logout-team-member">API reference</a>, as the <code>x-public-key</code> header.</p>
                </section>
                """
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
                <div class="table-scroll"><table><thead><tr><th scope="col">Key</th><th scope="col">Name</th><th scope="col">Created</th>
                <th scope="col">Last used</th><th scope="col">State</th><th scope="col"></th></tr></thead><tbody>\(rows)</tbody></table></div>
                """
        ).render()
    }

    @Sendable func createKey(_ request: Request, context: ConsoleFormContext) async throws -> Response {
        let name = try MemberName(parsing: context.form["name"].flatMap { $0.isEmpty ? nil : $0 } ?? "console key")
        let issued = try await services.directory.createAPIKey(organizationID: context.admin.organizationID, name: name, origin: context.origin)
        // Post/redirect/get: a reload of the page must not make another key, nor show this one again.
        return redirect("/console/settings/developer?shown=\(notes.put(issued.secret, owner: context.admin.csrf))")
    }

    @Sendable func revokeKey(_ request: Request, context: ConsoleFormContext) async throws -> Response {
        _ = try await services.directory.revokeAPIKey(
            organizationID: context.admin.organizationID, idOrPrefix: try context.parameters.require("id"), origin: context.origin)
        return redirect("/console/settings/developer")
    }

    // MARK: Audit log

    /// How the console names an actor: the admin's name, or the key by prefix.
    static func actorNames(_ services: TeamGateServices, organizationID: String) async throws -> [String: String] {
        var names: [String: String] = [:]
        for member in try await services.directory.members(organizationID: organizationID) { names["member:\(member.id)"] = member.name }
        return names
    }

    static func auditTable(_ events: [AuditEvent], names: [String: String]) -> String {
        guard !events.isEmpty else { return "<p>Nothing yet.</p>" }
        let rows = events.map { event in
            let actor = names[event.actor] ?? (event.actor.hasPrefix("api_key:") ? "API key \(event.actor.dropFirst(8))…" : event.actor)
            return """
                <tr><td>\(HTML.time(event.occurredAt))</td><td class="actor">\(HTML.escape(actor))</td><td><code>\(HTML.escape(event.action.rawValue))</code></td>
                <td>\(HTML.escape(event.memberPhone?.e164 ?? "—"))</td><td>\(HTML.escape(event.reason ?? ""))</td><td>\(event.sessionsEnded.map(String.init) ?? "")</td></tr>
                """
        }.joined()
        return """
            <div class="table-scroll"><table class="audit"><thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th>
            <th scope="col">Member</th><th scope="col">Reason / detail</th><th scope="col">Sessions ended</th></tr></thead><tbody>\(rows)</tbody></table></div>
            """
    }

    @Sendable func audit(_ request: Request, context: ConsoleRequestContext) async throws -> Response {
        let admin = context.admin
        let parameters = request.uri.queryParameters
        let memberText = parameters.get("member") ?? ""
        let actionText = parameters.get("action") ?? ""
        let filter = AuditFilter(
            organizationID: admin.organizationID, limit: 25, member: memberText.isEmpty ? nil : memberText, memberField: "member",
            action: actionText.isEmpty ? nil : actionText, cursor: parameters.get("cursor"), since: nil)
        let query = filter.query
        // A filter that cannot be read is said, with the API's words, and matches nothing (not everything).
        let events = filter.problems.isEmpty ? try await services.directory.auditEvents(query) : []
        let names = try await Self.actorNames(services, organizationID: admin.organizationID)
        var next = ""
        if events.count == query.limit, let last = events.last?.id {
            var components = URLComponents()
            components.queryItems = [URLQueryItem(name: "member", value: memberText), URLQueryItem(name: "action", value: actionText), URLQueryItem(name: "cursor", value: last)]
            next = "<p><a href=\"/console/audit\(HTML.escape(components.string ?? ""))\" rel=\"next\">Older events →</a></p>"
        }
        let options = AuditAction.allCases.map { "<option value=\"\($0.rawValue)\"\($0.rawValue == actionText ? " selected" : "")>\($0.rawValue)</option>" }.joined()
        return ConsolePage(
            title: "Audit log", section: .audit, admin: admin.live, csrf: admin.csrf,
            flash: filter.problems.isEmpty ? nil : filter.problems.joined(separator: " "),
            body: """
                <form method="get" action="/console/audit" class="search" role="search">
                <label for="member">Member number</label><input id="member" name="member" type="search" value="\(HTML.escape(memberText))">
                <label for="action">Action</label><select id="action" name="action"><option value="">Any action</option>\(options)</select>
                <button type="submit" class="ghost">Filter</button></form>
                \(Self.auditTable(events, names: names))
                \(next)
                """
        ).render(status: filter.problems.isEmpty ? .ok : .badRequest)
    }

    // MARK: Webhooks

    @Sendable func webhooks(_ request: Request, context: ConsoleRequestContext) async throws -> Response {
        try await webhooks(context.admin, origin: context.origin, secret: notes.take(request.uri.queryParameters.get("shown"), owner: context.admin.csrf))
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
                <section class="card new-key"><h2>Signing secret</h2>
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
        ).render(status: error == nil ? .ok : .badRequest)
    }

    @Sendable func createWebhook(_ request: Request, context: ConsoleFormContext) async throws -> Response {
        let (admin, form) = (context.admin, context.form)
        let events = WebhookEvent.allCases.filter { form["event.\($0.rawValue)"] == "on" }
        do {
            let hook = try await services.webhooks.create(organizationID: admin.organizationID, url: form["url"] ?? "", events: events, origin: context.origin)
            return redirect("/console/webhooks?shown=\(notes.put(hook.secret, owner: admin.csrf))")
        } catch TeamGateError.validation(let problems) {
            return try await webhooks(admin, origin: context.origin, error: problems.joined(separator: " "))
        }
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
