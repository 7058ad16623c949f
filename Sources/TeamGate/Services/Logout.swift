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

    /// One logout as its transaction sees it: who asks, for whom, why, and the revocation it makes.
    struct Request: Sendable {
        let organizationID: String
        let phone: PhoneNumber
        let asker: Asker
        let reason: String?
        let lockForMinutes: Int?
        let origin: RequestOrigin
        let revocationID: String
        let at: Date
    }

    /// The API's logouts without a lock (the seed's call, the hot path) share their statements with the
    /// others of the same group commit: on PostgreSQL a batch of them costs a few round trips, not three each.
    static let sharedAPILogouts = SharedUnitOfWork<Request, Decision<EndedMemberSessions>>(name: "logout.api-key") { work, requests in
        try logOut(requests, in: work)
    }

    private func endMemberSessions(
        organizationID: String, phone: PhoneNumber, asker: Asker, reason: String?, lockForMinutes: Int?, origin: RequestOrigin
    ) async throws -> EndedMemberSessions {
        let request = Request(
            organizationID: organizationID, phone: phone, asker: asker, reason: reason, lockForMinutes: lockForMinutes, origin: origin,
            revocationID: SecretToken.identifier(prefix: "rev_"), at: clock.now())
        let ended: EndedMemberSessions
        do {
            if case .apiKey = asker, lockForMinutes == nil {
                ended = try await transactions.decide(request, sharing: Self.sharedAPILogouts)
            } else {
                ended = try await transactions.decide { work in try Self.logOut([request], in: work)[0].output }
            }
        } catch let refusal as TeamGateError {
            TeamGateMetrics.logout(outcome: "refused")
            throw refusal
        }
        TeamGateMetrics.logout(outcome: ended.sessionsEnded > 0 ? "ended" : "none")
        return ended
    }

    /// The logouts in order, as if one after the other: every member read and every key checked in one
    /// statement, every member's sessions ended in one, the audit events appended in one. A member asked for
    /// twice gets their sessions ended by the first ask, and 0 by the second. Refusals are decisions, not
    /// errors, so the others' writes stand.
    static func logOut(_ requests: [Request], in work: any UnitOfWork) throws -> [(output: Decision<EndedMemberSessions>, endedSessions: [EndedSession])] {
        let found = try work.activeMembers(
            requests.map { request in
                let keyID: String? = if case .apiKey(let id) = request.asker { id } else { nil }
                return MemberAsk(organizationID: request.organizationID, phone: request.phone, keyID: keyID)
            })
        // Each request's verdict: the member whose sessions it ends, or the rule that refuses it.
        let verdicts = try zip(requests, found).map { request, found -> Result<TeamMember, TeamGateError> in
            if case .apiKey = request.asker, !found.keyIsLive { return .failure(.invalidAPIKey) }
            guard let member = found.member else { return .failure(.notATeamMember) }
            do {
                if case .admin(let admin) = request.asker { try TeamRules.authorize(admin, over: member) }
                try TeamRules.checkLock(minutes: request.lockForMinutes, of: member)
            } catch let refusal as TeamGateError {
                return .failure(refusal)
            }
            return .success(member)
        }
        var ends: [MemberSessionsEnd] = []
        var ending: Set<String> = []
        for (request, verdict) in zip(requests, verdicts) {
            guard case .success(let member) = verdict, ending.insert(member.id).inserted else { continue }
            ends.append(MemberSessionsEnd(memberID: member.id, revocationID: request.revocationID, at: request.at))
        }
        var endedByMember = Dictionary(grouping: try work.endSessions(ofMembers: ends, reason: .adminLogout), by: \.memberID)
        var audits: [AuditEvent] = []
        var results: [(output: Decision<EndedMemberSessions>, endedSessions: [EndedSession])] = []
        for (request, verdict) in zip(requests, verdicts) {
            let member: TeamMember
            switch verdict {
            case .failure(let refusal):
                results.append((.refused(refusal), []))
                continue
            case .success(let accepted):
                member = accepted
            }
            // The first ask for a member ended their sessions; a second finds none left.
            let ended = endedByMember.removeValue(forKey: member.id) ?? []
            let (organizationID, now, reason, revocationID) = (request.organizationID, request.at, request.reason, request.revocationID)
            audits.append(
                .make(
                    .memberLoggedOut, organizationID: organizationID, at: now, origin: request.origin, member: member, reason: reason,
                    sessionsEnded: ended.count, revocationID: revocationID))
            var data = member.webhookData
            data["sessionsEnded"] = .int(ended.count)
            data["revocationId"] = .string(revocationID)
            data["reason"] = .optional(reason)
            try work.enqueueWebhook(WebhookMessage(organizationID: organizationID, event: .teamMemberLoggedOut, data: data, at: now))
            if let minutes = request.lockForMinutes {
                let lockUntil = now.addingTimeInterval(TimeInterval(minutes) * 60)
                try work.setLock(memberID: member.id, until: lockUntil)
                audits.append(
                    .make(
                        .memberLocked, organizationID: organizationID, at: now, origin: request.origin, member: member,
                        reason: "until \(lockUntil.formatted(.iso8601))" + (reason.map { ": \($0)" } ?? ""), revocationID: revocationID))
                data["lockedUntil"] = .string(lockUntil.formatted(.iso8601))
                try work.enqueueWebhook(WebhookMessage(organizationID: organizationID, event: .teamMemberLocked, data: data, at: now))
            }
            results.append((.done(EndedMemberSessions(member: member, sessionsEnded: ended.count, revocationID: revocationID)), ended))
        }
        try work.appendAudits(audits)
        return results
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
