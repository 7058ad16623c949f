import Foundation
import Hummingbird

/// The audit log, newest first, a page at a time, filtered by member and action.
struct ConsoleAuditPages: Sendable {
    let services: TeamGateServices

    static let pageSize = 25

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
        let paging = ConsolePaging(path: "/console/audit", filters: [("member", memberText), ("action", actionText)], parameters: parameters)
        let filter = AuditFilter(
            organizationID: admin.organizationID, limit: Self.pageSize + 1, member: memberText.isEmpty ? nil : memberText, memberField: "member",
            action: actionText.isEmpty ? nil : actionText, cursor: paging.cursor, since: nil)
        // A filter that cannot be read is said, with the API's words, and matches nothing (not everything).
        var events = filter.problems.isEmpty ? try await services.directory.auditEvents(filter.query) : []
        let more = events.count > Self.pageSize
        if more { events.removeLast() }
        let names = try await services.directory.actorNames(organizationID: admin.organizationID, of: events)
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
                \(paging.links(next: more ? events.last?.id : nil))
                """
        ).render(status: filter.problems.isEmpty ? .ok : .badRequest)
    }
}
