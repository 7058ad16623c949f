import Foundation

/// The console's reads, each bounded however large the team: a page of members, their session summaries, a page
/// of a member's sessions, the names of the actors on a page of the audit log.
extension TeamDirectory {
    /// A page of the console's team list: the members shown, and where the next page starts, if anywhere.
    public struct ConsoleTeamPage: Sendable {
        public let members: [TeamMember]
        public let nextCursor: String?
    }

    /// Members most a search reads for one page: a name matched on no page stops after this many.
    public static let consoleSearchScanLimit = 2_000

    /// Up to `limit` members after `cursor`, in joining order. With `search`, a number is looked up at once and
    /// anything else matched against names and numbers over at most `consoleSearchScanLimit` members; the next
    /// page goes on from the last member read.
    public func consoleTeamPage(organizationID: String, search: String, after cursor: String?, limit: Int) async throws -> ConsoleTeamPage {
        if !search.isEmpty, let phone = PhoneNumber(validating: search) {
            return ConsoleTeamPage(members: try await store.member(organizationID: organizationID, phone: phone).map { [$0] } ?? [], nextCursor: nil)
        }
        let digits = search.filter(\.isNumber)
        var matched: [TeamMember] = []
        var after = cursor
        var read = 0
        while true {
            let batch = search.isEmpty ? limit + 1 : min(500, Self.consoleSearchScanLimit - read)
            let page = try await teamPage(organizationID: organizationID, after: after, limit: batch)
            for member in page.members {
                let matches =
                    search.isEmpty || member.name.localizedCaseInsensitiveContains(search) || (!digits.isEmpty && member.phone.digits.contains(digits))
                guard matches else { continue }
                // One more match than the page holds: the next page starts after the last one shown.
                if matched.count == limit {
                    return ConsoleTeamPage(members: matched, nextCursor: matched.last?.id)
                }
                matched.append(member)
            }
            read += page.members.count
            guard let next = page.nextCursor else { return ConsoleTeamPage(members: matched, nextCursor: nil) }
            after = next
            if read >= Self.consoleSearchScanLimit { return ConsoleTeamPage(members: matched, nextCursor: next) }
        }
    }

    /// The live sessions and latest activity of these members only.
    public func sessionSummaries(organizationID: String, memberIDs: [String]) async throws -> [String: SessionSummary] {
        try await store.sessionSummaries(organizationID: organizationID, memberIDs: memberIDs, at: clock.now())
    }

    /// Up to `limit` of the member's sessions, newest first, older than the session `cursor`; nil when that is none of theirs.
    public func sessions(of member: TeamMember, before cursor: String?, limit: Int) async throws -> [Session] {
        try Self.checkCursor(cursor)
        guard let sessions = try await store.sessions(memberID: member.id, before: cursor, limit: limit) else { throw TeamGateError.invalidCursor }
        return sessions
    }

    /// How the console names the actors of these events: the members among them by name (removed ones too).
    public func actorNames(organizationID: String, of events: [AuditEvent]) async throws -> [String: String] {
        let ids = Set(events.compactMap { $0.actor.hasPrefix("member:") ? String($0.actor.dropFirst(7)) : nil })
        guard !ids.isEmpty else { return [:] }
        var names: [String: String] = [:]
        for member in try await store.members(organizationID: organizationID, ids: ids) { names["member:\(member.id)"] = member.name }
        return names
    }
}
