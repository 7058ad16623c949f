import Foundation

/// The seed's use case and its kin: an admin ends a member's sessions, one device's session, or
/// everyone's, and lifts lockouts. Each is one unit of work: the sessions end, the audit records it, the
/// webhooks are queued, and the index and the devices hear of it when it commits (`Transactions`).
public struct Logout: Sendable {
    let store: any TeamGateStore
    let transactions: Transactions
    let clock: WallClock

    /// The seed's call: ends every live session of the member with `phone` in `key`'s organisation,
    /// durably. Idempotent: a member with no live session gets `sessionsEnded == 0`. `reason` goes into
    /// the audit; `lockForMinutes` keeps the member from signing in again until then.
    public func logOut(
        _ phone: PhoneNumber, by key: APIKey, reason: String? = nil, lockForMinutes: Int? = nil, origin: RequestOrigin
    ) async throws -> EndedMemberSessions {
        try await endMemberSessions(
            organizationID: key.organizationID, phone: phone, asker: .apiKey(id: key.id), reason: reason, lockForMinutes: lockForMinutes, origin: origin)
    }

    /// The same logout, asked for by an admin signed in to the console.
    public func logOut(
        _ target: TeamMember, by admin: TeamMember, reason: String?, lockForMinutes: Int?, origin: RequestOrigin
    ) async throws -> EndedMemberSessions {
        try await endMemberSessions(
            organizationID: target.organizationID, phone: target.phone, asker: .admin(admin), reason: reason, lockForMinutes: lockForMinutes,
            origin: origin)
    }

    /// Who asked, as the transaction checks it: a key is checked again there, so one revoked since the
    /// request was authenticated ends nothing.
    enum Asker: Sendable {
        case apiKey(id: String)
        case admin(TeamMember)
    }

    private func endMemberSessions(
        organizationID: String, phone: PhoneNumber, asker: Asker, reason: String?, lockForMinutes: Int?, origin: RequestOrigin
    ) async throws -> EndedMemberSessions {
        let now = clock.now()
        let revocationID = SecretToken.identifier(prefix: "rev_")
        let lockUntil = lockForMinutes.map { now.addingTimeInterval(TimeInterval($0) * 60) }
        return try await transactions.decide { work -> Decision<EndedMemberSessions> in
            let found: TeamMember?
            switch asker {
            case .apiKey(let id):
                let (keyIsLive, member) = try work.activeMember(organizationID: organizationID, phone: phone, checkingKey: id)
                guard keyIsLive else { return .refused(.invalidAPIKey) }
                found = member
            case .admin:
                found = try work.activeMember(organizationID: organizationID, phone: phone)
            }
            guard let member = found else { return .refused(.notATeamMember) }
            do {
                if case .admin(let admin) = asker { try TeamRules.authorize(admin, over: member) }
                try TeamRules.checkLock(minutes: lockForMinutes, of: member)
            } catch let refusal as TeamGateError {
                return .refused(refusal)
            }
            let ended = try work.endSessions(.member(id: member.id), reason: .adminLogout, revocationID: revocationID, at: now)
            try work.appendAudit(
                .make(
                    .memberLoggedOut, organizationID: organizationID, at: now, origin: origin, member: member, reason: reason,
                    sessionsEnded: ended.count, revocationID: revocationID))
            var data = member.webhookData
            data["sessionsEnded"] = .int(ended.count)
            data["revocationId"] = .string(revocationID)
            data["reason"] = .optional(reason)
            try work.enqueueWebhook(WebhookMessage(organizationID: organizationID, event: .teamMemberLoggedOut, data: data, at: now))
            if let lockUntil {
                try work.setLock(memberID: member.id, until: lockUntil)
                try work.appendAudit(
                    .make(
                        .memberLocked, organizationID: organizationID, at: now, origin: origin, member: member,
                        reason: "until \(lockUntil.formatted(.iso8601))" + (reason.map { ": \($0)" } ?? ""), revocationID: revocationID))
                data["lockedUntil"] = .string(lockUntil.formatted(.iso8601))
                try work.enqueueWebhook(WebhookMessage(organizationID: organizationID, event: .teamMemberLocked, data: data, at: now))
            }
            return .done(EndedMemberSessions(member: member, sessionsEnded: ended.count, revocationID: revocationID))
        }
    }

    /// What a logout would end, without ending anything.
    public func dryRun(organizationID: String, phone: PhoneNumber) async throws -> (member: TeamMember, sessions: [Session]) {
        guard let member = try await store.member(organizationID: organizationID, phone: phone) else { throw TeamGateError.notATeamMember }
        let now = clock.now()
        return (member, try await store.sessions(memberID: member.id).filter { $0.isLive(at: now) })
    }
}

/// What a logout (or a removal) ended.
public struct EndedMemberSessions: Sendable, Equatable {
    public let member: TeamMember
    public let sessionsEnded: Int
    public let revocationID: String
}
