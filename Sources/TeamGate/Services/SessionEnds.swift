import Foundation

/// An end of sessions as a service asks for it: which sessions, why, asked from where, under which revocation.
/// Every end goes through `SessionEnds.end`, so none forgets its audit event, its webhook or its apps' back-channel logouts.
struct SessionEnd: Sendable {
    let selection: SessionSelection
    let reason: SessionEndReason
    let organizationID: String
    /// Whose sessions end, when they are one member's; nil for the whole team (its webhooks then name each
    /// member whose sessions ended).
    let member: TeamMember?
    let origin: RequestOrigin
    let revocationID: String?
    let at: Date
    /// What the audit event says beyond the action (the admin's reason, the device's name).
    var auditReason: String? = nil
    /// What the webhook's payload carries beyond the member, the count, the revocation and the reason.
    var webhookData: [String: WebhookValue] = [:]
}

extension SessionEndReason {
    /// The audit's name for an end for this reason.
    var auditAction: AuditAction {
        switch self {
        case .adminLogout: .memberLoggedOut
        case .sessionRevoked: .sessionEnded
        case .memberRemoved: .memberRemoved
        case .orgLogout: .teamLoggedOut
        case .signedOut: .memberSignedOut
        case .expired: .sessionEnded
        case .deprovisioned: .memberDeactivated
        }
    }

    /// The events webhooks hear for an end for this reason: a deactivation is news about the member and about
    /// their sessions both.
    var webhookEvents: [WebhookEvent] {
        switch self {
        case .adminLogout, .orgLogout: [.teamMemberLoggedOut]
        case .memberRemoved: [.teamMemberRemoved]
        case .sessionRevoked, .signedOut, .expired: [.sessionEnded]
        case .deprovisioned: [.teamMemberDeactivated, .sessionEnded]
        }
    }
}

/// The one composition for ending sessions: the end, its audit event and its webhooks, in the caller's unit of
/// work. The devices and the index hear of the ended sessions after the commit (`Transactions`).
enum SessionEnds {
    /// Ends what each of `ends` selects, with one statement for each kind of selection and one for all the audit
    /// events; answers, for each, the sessions it ended. A selection asked for twice ends its sessions with the
    /// first ask; the second finds none left (and is still audited, with 0).
    static func end(_ ends: [SessionEnd], in work: any UnitOfWork) throws -> [[EndedSession]] {
        var results = [[EndedSession]](repeating: [], count: ends.count)
        var seen = Set<SessionSelection>()
        let firstAsks = ends.indices.filter { seen.insert(ends[$0].selection).inserted }
        for (reason, positions) in Dictionary(grouping: firstAsks, by: { ends[$0].reason }) {
            let ended = try work.endSessions(
                positions.map { SessionsToEnd(ends[$0].selection, revocationID: ends[$0].revocationID, at: ends[$0].at) }, reason: reason)
            for (position, sessions) in zip(positions, ended) { results[position] = sessions }
        }
        var audits: [AuditEvent] = []
        for (end, ended) in zip(ends, results) {
            audits.append(
                .make(
                    end.reason.auditAction, organizationID: end.organizationID, at: end.at, origin: end.origin, member: end.member,
                    reason: end.auditReason, sessionsEnded: ended.count, revocationID: end.revocationID))
            try enqueueWebhooks(end, ended: ended, in: work)
        }
        try work.appendAudits(audits)
        // Apps signed in through an ended session hear of it through the outbox, committed with the end itself.
        let appSessions = results.joined().filter { $0.parentID != nil }.map(\.sessionID)
        if !appSessions.isEmpty, let at = ends.first?.at { try work.enqueueBackChannelLogouts(appSessionIDs: appSessions, at: at) }
        return results
    }

    static func end(_ end: SessionEnd, in work: any UnitOfWork) throws -> [EndedSession] {
        try self.end([end], in: work)[0]
    }

    /// One delivery for the member, or for each member whose sessions ended when the end is the whole team's.
    private static func enqueueWebhooks(_ end: SessionEnd, ended: [EndedSession], in work: any UnitOfWork) throws {
        let byMember: [(TeamMember, Int)]
        if let member = end.member {
            byMember = [(member, ended.count)]
        } else {
            let counts = Dictionary(grouping: ended, by: \.memberID).mapValues(\.count)
            byMember = try work.members(ids: Set(counts.keys)).sorted { $0.id < $1.id }.map { ($0, counts[$0.id] ?? 0) }
        }
        for (member, count) in byMember {
            var data = member.webhookData.merging(end.webhookData) { _, extra in extra }
            data["sessionsEnded"] = .int(count)
            data["revocationId"] = .optional(end.revocationID)
            data["endReason"] = .string(end.reason.rawValue)
            for event in end.reason.webhookEvents {
                try work.enqueueWebhook(WebhookMessage(organizationID: end.organizationID, event: event, data: data, at: end.at))
            }
        }
    }
}
