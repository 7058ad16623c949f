import Foundation
import Hummingbird

/// The Team page, a member's page, and the actions on them.
struct ConsoleTeamPages: Sendable {
    let services: TeamGateServices

    /// The admin's team's member with this id; a page for anyone else is not found.
    private func teamMember(_ admin: ConsoleAdmin, id: String) async throws -> TeamMember {
        guard let member = try await services.directory.member(organizationID: admin.organizationID, id: id) else { throw TeamGateError.memberNotFound }
        return member
    }

    private func status(_ member: TeamMember) -> String {
        if member.isDeactivated { return "Deactivated by the directory \(HTML.time(member.deactivatedAt))" }
        return member.isLocked(at: services.clock.now()) ? "Locked until \(HTML.time(member.lockedUntil))" : "Active"
    }

    static let teamPageSize = 50
    static let sessionPageSize = 25
    static let historyPageSize = 25

    @Sendable func team(_ request: Request, context: ConsoleRequestContext) async throws -> Response {
        let admin = context.admin
        let parameters = request.uri.queryParameters
        let query = parameters.get("q")?.trimmingCharacters(in: .whitespaces) ?? ""
        let now = services.clock.now()
        let paging = ConsolePaging(path: "/console/team", filters: [("q", query)], parameters: parameters)
        // A page of members, and the session summaries of those members only: bounded however large the team.
        let page = try await services.directory.consoleTeamPage(
            organizationID: admin.organizationID, search: query, after: paging.cursor, limit: Self.teamPageSize)
        let summaries = try await services.directory.sessionSummaries(organizationID: admin.organizationID, memberIDs: page.members.map { $0.id })
        var rows = ""
        for member in page.members {
            let summary = summaries[member.id]
            let manageable = TeamRules.mayManage(admin.actor, member)
            let actions =
                (summary?.live ?? 0 == 0 || !manageable ? "" : "<a class=\"button danger\" href=\"/console/members/\(member.id)/logout\">Log out</a>")
                + (member.isLocked(at: now) && manageable ? HTML.form(action: "/console/members/\(member.id)/unlock", csrf: admin.csrf, label: "Unlock") : "")
            rows += """
                <tr data-member="\(HTML.escape(member.phone.e164))"><td><a href="/console/members/\(member.id)">\(HTML.escape(member.name))</a></td>
                <td>\(HTML.escape(member.phone.e164))</td><td>\(HTML.escape(member.role.name))</td><td>\(status(member))</td>
                <td class="sessions">\(summary?.live ?? 0)</td><td>\(HTML.time(summary?.lastSeen))</td><td class="actions">\(actions)</td></tr>
                """
        }
        let notice = request.uri.queryParameters.get("notice").flatMap(Self.notices)
        return ConsolePage(
            title: "Team", section: .team, admin: admin.live, csrf: admin.csrf, flash: notice,
            body: """
                <form method="get" action="/console/team" class="search" role="search">
                <label for="q" class="visually-hidden">Search by name or number</label>
                <input id="q" name="q" type="search" value="\(HTML.escape(query))" placeholder="Search by name or number">
                <button type="submit" class="ghost">Search</button></form>
                <div class="table-scroll"><table><thead><tr><th scope="col">Member</th><th scope="col">Phone</th><th scope="col">Role</th>
                <th scope="col">Status</th><th scope="col">Active sessions</th><th scope="col">Last signed in</th><th scope="col">Actions</th></tr></thead>
                <tbody>\(rows.isEmpty ? "<tr><td colspan=\"7\">No member matches.</td></tr>" : rows)</tbody></table></div>
                \(paging.links(next: page.nextCursor))
                """
        ).render()
    }

    static func notices(_ code: String) -> String? {
        switch code {
        case "logged-out": "The member was logged out on every device."
        case "unlocked": "The member can sign in again."
        case "session-ended": "That device was signed out."
        default: nil
        }
    }

    @Sendable func member(_ request: Request, context: ConsoleRequestContext) async throws -> Response {
        let admin = context.admin
        let member = try await teamMember(admin, id: try context.parameters.require("id"))
        let now = services.clock.now()
        let parameters = request.uri.queryParameters
        // Sessions and history, each a page at a time with its own cursor.
        let sessionPaging = ConsolePaging(path: "/console/members/\(member.id)", filters: [], parameters: parameters)
        var sessions = try await services.directory.sessions(of: member, before: sessionPaging.cursor, limit: Self.sessionPageSize + 1)
        let moreSessions = sessions.count > Self.sessionPageSize
        if moreSessions { sessions.removeLast() }
        let sessionRows = sessions.map { session in
            let state = session.isLive(at: now) ? "Active" : (session.endReason.map { "Ended (\($0.rawValue.replacingOccurrences(of: "_", with: " ")))" } ?? "Expired")
            let end =
                session.isLive(at: now) && TeamRules.mayManage(admin.actor, member)
                ? HTML.form(
                    action: "/console/sessions/\(session.id)/end", csrf: admin.csrf, label: "End", style: "danger",
                    fields: "<input type=\"hidden\" name=\"member\" value=\"\(member.id)\">", confirm: "Sign \(member.name) out of \(session.deviceName)?")
                : ""
            return """
                <tr><td>\(HTML.escape(session.deviceName))</td><td>\(HTML.escape(session.userAgent ?? "—"))</td><td>\(HTML.escape(session.ipAddress ?? "—"))</td>
                <td>\(HTML.time(session.createdAt))</td><td>\(HTML.time(session.lastSeenAt ?? session.createdAt))</td><td>\(HTML.escape(state))</td><td>\(end)</td></tr>
                """
        }.joined()
        let historyCursor = parameters.get("history").flatMap { $0.isEmpty ? nil : $0 }
        var events = try await services.directory.auditEvents(
            AuditQuery(organizationID: admin.organizationID, limit: Self.historyPageSize + 1, afterEventID: historyCursor, memberPhone: member.phone))
        let moreHistory = events.count > Self.historyPageSize
        if moreHistory { events.removeLast() }
        let names = try await services.directory.actorNames(organizationID: admin.organizationID, of: events)
        let historyLinks = [
            historyCursor == nil ? nil : "<a href=\"/console/members/\(member.id)#history\" rel=\"first\">← Newest</a>",
            moreHistory ? events.last.map { "<a href=\"/console/members/\(member.id)?history=\(HTML.escape($0.id))#history\" rel=\"next\">Older →</a>" } : nil,
        ].compactMap { $0 }
        return ConsolePage(
            title: member.name, section: .team, admin: admin.live, csrf: admin.csrf,
            body: """
                <p>\(HTML.escape(member.phone.e164)) · \(HTML.escape(member.role.name)) · \(status(member))</p>
                \(TeamRules.mayManage(admin.actor, member) ? "<p><a class=\"button danger\" href=\"/console/members/\(member.id)/logout\">Log out everywhere…</a></p>" : "")
                <h2>Sessions</h2>
                <div class="table-scroll"><table><thead><tr><th scope="col">Device</th><th scope="col">User agent</th><th scope="col">IP</th>
                <th scope="col">Signed in</th><th scope="col">Last seen</th><th scope="col">State</th><th scope="col"></th></tr></thead>
                <tbody>\(sessionRows.isEmpty ? "<tr><td colspan=\"7\">No session yet.</td></tr>" : sessionRows)</tbody></table></div>
                \(sessionPaging.links(next: moreSessions ? sessions.last?.id : nil))
                <h2 id="history">History</h2>
                \(ConsoleAuditPages.auditTable(events, names: names))
                \(historyLinks.isEmpty ? "" : "<nav class=\"pager\" aria-label=\"History pages\">\(historyLinks.joined(separator: " "))</nav>")
                """
        ).render()
    }

    @Sendable func confirmLogout(_ request: Request, context: ConsoleRequestContext) async throws -> Response {
        let admin = context.admin
        let member = try await teamMember(admin, id: try context.parameters.require("id"))
        let preview = try await services.logout.dryRun(member.phone, organizationID: admin.organizationID, origin: context.origin)
        let devices = preview.sessions.map { "<li>\(HTML.escape($0.deviceName))</li>" }.joined()
        return ConsolePage(
            title: "Log out \(member.name)?", section: .team, admin: admin.live, csrf: admin.csrf,
            body: """
                <p id="logout-preview">This will end <strong>\(preview.sessions.count) session\(preview.sessions.count == 1 ? "" : "s")</strong>. \
                \(HTML.escape(member.name)) will have to sign in again on every device.</p>
                <ul>\(devices)</ul>
                <form method="post" action="/console/members/\(member.id)/logout" class="card stack">
                <input type="hidden" name="csrf" value="\(admin.csrf)">
                <label for="reason">Reason (kept in the audit log)</label>
                <input id="reason" name="reason" maxlength="500" placeholder="e.g. Left the company">
                <label for="lock">Also lock them out</label>
                <select id="lock" name="lockForMinutes"><option value="">No lockout</option><option value="15">15 minutes</option>
                <option value="60">1 hour</option><option value="1440">1 day</option><option value="\(Lockout.maximumMinutes)">1 week</option></select>
                <button type="submit" class="try-it danger-fill">Log out \(HTML.escape(member.name))</button>
                <a href="/console/team">Cancel</a>
                </form>
                """
        ).render()
    }

    @Sendable func logOut(_ request: Request, context: ConsoleFormContext) async throws -> Response {
        let member = try await teamMember(context.admin, id: try context.parameters.require("id"))
        let reason = context.form["reason"].map { String($0.prefix(500)) }.flatMap { $0.isEmpty ? nil : $0 }
        // Not a number is no length at all: the rule refuses it with the API's words.
        let lock = context.form["lockForMinutes"].flatMap { $0.isEmpty ? nil : $0 }.map { Int($0) ?? 0 }
        _ = try await services.logout.logOut(
            member.phone, organizationID: context.admin.organizationID, reason: reason, lockForMinutes: lock, origin: context.origin)
        return redirect("/console/team?notice=logged-out")
    }

    @Sendable func unlock(_ request: Request, context: ConsoleFormContext) async throws -> Response {
        let member = try await teamMember(context.admin, id: try context.parameters.require("id"))
        _ = try await services.logout.unlock(member.phone, organizationID: context.admin.organizationID, origin: context.origin)
        return redirect("/console/team?notice=unlocked")
    }

    /// The form names the member whose page it is on; the session must be one of theirs.
    @Sendable func endSession(_ request: Request, context: ConsoleFormContext) async throws -> Response {
        guard let memberID = context.form["member"] else { throw TeamGateError.sessionNotFound }
        let member = try await teamMember(context.admin, id: memberID)
        _ = try await services.logout.endSession(
            try context.parameters.require("id"), organizationID: context.admin.organizationID, memberID: member.id, origin: context.origin)
        return redirect("/console/members/\(member.id)")
    }
}
