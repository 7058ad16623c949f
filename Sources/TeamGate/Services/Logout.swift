import Foundation

/// The seed's use case and its kin: an admin ends a member's sessions, one device's session, or
/// everyone's, and lifts lockouts. Each is one unit of work: the sessions end, the audit records it, the
/// webhooks are queued (`SessionEnds`), and the index and the devices hear of it when it commits (`Transactions`).
public struct Logout: Sendable {
    let store: any TeamGateStore
    let transactions: Transactions
    let clock: WallClock

    /// The seed's call: ends every live session of the member with `phone` in the organisation, durably, for
    /// `origin`'s actor (`TeamRules`). Idempotent: a member with no live session gets `sessionsEnded == 0`.
    /// `reason` goes into the audit; `lockForMinutes` keeps the member from signing in again until then. An
    /// API key is checked again in the transaction, so one revoked since the request was authenticated ends nothing.
    public func logOut(
        _ phone: PhoneNumber, organizationID: String, reason: String? = nil, lockForMinutes: Int? = nil, origin: RequestOrigin
    ) async throws -> EndedMemberSessions {
        try TeamRules.checkLockLength(lockForMinutes)
        let request = Request(
            organizationID: organizationID, phone: phone, reason: reason, lockForMinutes: lockForMinutes, origin: origin,
            revocationID: SecretToken.identifier(prefix: "rev_"), at: clock.now())
        let ended: EndedMemberSessions
        do {
            if case .apiKey = origin.actor, lockForMinutes == nil {
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

    /// One logout as its transaction sees it: for whom, why, asked from where, and the revocation it makes.
    struct Request: Sendable {
        let organizationID: String
        let phone: PhoneNumber
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

    /// The logouts in order, as if one after the other: every member read and every key checked in one
    /// statement, every member's sessions ended in one, the audit events appended in one. A member asked for
    /// twice gets their sessions ended by the first ask, and 0 by the second. Refusals are decisions, not
    /// errors, so the others' writes stand.
    static func logOut(_ requests: [Request], in work: any UnitOfWork) throws -> [(output: Decision<EndedMemberSessions>, endedSessions: [EndedSession])] {
        let found = try work.activeMembers(
            requests.map { request in
                let keyID: String? = if case .apiKey(let key) = request.origin.actor { key.id } else { nil }
                return MemberAsk(organizationID: request.organizationID, phone: request.phone, keyID: keyID)
            })
        // Each request's verdict: the member whose sessions it ends, or the rule that refuses it.
        let verdicts = zip(requests, found).map { request, found -> Result<TeamMember, TeamGateError> in
            if case .apiKey = request.origin.actor, !found.keyIsLive { return .failure(.invalidAPIKey) }
            guard let member = found.member else { return .failure(.notATeamMember) }
            do throws(TeamGateError) {
                try TeamRules.authorize(request.origin.actor, over: member)
                try TeamRules.checkLockable(member, minutes: request.lockForMinutes)
            } catch {
                return .failure(error)
            }
            return .success(member)
        }
        let accepted = zip(requests, verdicts).compactMap { request, verdict -> (Request, TeamMember)? in
            guard case .success(let member) = verdict else { return nil }
            return (request, member)
        }
        let ended = try SessionEnds.end(
            accepted.map { request, member in
                SessionEnd(
                    selection: .member(id: member.id), reason: .adminLogout, organizationID: request.organizationID, member: member,
                    origin: request.origin, revocationID: request.revocationID, at: request.at, auditReason: request.reason,
                    webhookData: ["reason": .optional(request.reason)])
            }, in: work)
        var locks: [AuditEvent] = []
        var results: [(output: Decision<EndedMemberSessions>, endedSessions: [EndedSession])] = []
        var nextAccepted = 0
        for verdict in verdicts {
            if case .failure(let refusal) = verdict {
                results.append((.refused(refusal), []))
                continue
            }
            let ((request, member), sessions) = (accepted[nextAccepted], ended[nextAccepted])
            nextAccepted += 1
            if let minutes = request.lockForMinutes { locks.append(try lock(member, minutes: minutes, sessionsEnded: sessions.count, by: request, in: work)) }
            results.append((.done(EndedMemberSessions(member: member, sessionsEnded: sessions.count, revocationID: request.revocationID)), sessions))
        }
        try work.appendAudits(locks)
        return results
    }

    /// Keeps the member from signing in until the lock ends; answers the audit event that says so.
    private static func lock(_ member: TeamMember, minutes: Int, sessionsEnded: Int, by request: Request, in work: any UnitOfWork) throws -> AuditEvent {
        let lockUntil = request.at.addingTimeInterval(TimeInterval(minutes) * 60)
        try work.setLock(memberID: member.id, until: lockUntil)
        var data = member.webhookData
        data["sessionsEnded"] = .int(sessionsEnded)
        data["revocationId"] = .string(request.revocationID)
        data["reason"] = .optional(request.reason)
        data["lockedUntil"] = .string(lockUntil.formatted(.iso8601))
        try work.enqueueWebhook(WebhookMessage(organizationID: request.organizationID, event: .teamMemberLocked, data: data, at: request.at))
        return .make(
            .memberLocked, organizationID: request.organizationID, at: request.at, origin: request.origin, member: member,
            reason: "until \(lockUntil.formatted(.iso8601))" + (request.reason.map { ": \($0)" } ?? ""), revocationID: request.revocationID)
    }

    /// What a logout would end, without ending anything.
    public func dryRun(
        _ phone: PhoneNumber, organizationID: String, lockForMinutes: Int? = nil, origin: RequestOrigin
    ) async throws -> (member: TeamMember, sessions: [Session]) {
        try TeamRules.checkLockLength(lockForMinutes)
        guard let member = try await store.member(organizationID: organizationID, phone: phone) else { throw TeamGateError.notATeamMember }
        try TeamRules.authorize(origin.actor, over: member)
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
