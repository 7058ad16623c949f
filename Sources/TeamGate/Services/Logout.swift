import Foundation

/// The seed's use case: an admin, holding the organisation's API key, ends a member's sessions.
public struct Logout: Sendable {
    let store: any TeamGateStore
    let clock: WallClock

    public init(store: any TeamGateStore, clock: WallClock = .system) {
        self.store = store
        self.clock = clock
    }

    /// The same logout, asked for by an admin signed in to the console.
    public func logOut(
        organizationID: String, phone: PhoneNumber, reason: String?, lockForMinutes: Int?, origin: RequestOrigin
    ) async throws -> EndedMemberSessions {
        let now = clock.now()
        return try await store.endMemberSessions(
            EndMemberSessionsCommand(
                authority: .admin(organizationID: organizationID, actor: origin.actor),
                phone: phone,
                reason: .adminLogout,
                note: reason,
                lockUntil: lockForMinutes.map { now.addingTimeInterval(TimeInterval($0) * 60) },
                at: now,
                revocationID: SecretToken.identifier(prefix: "rev_"),
                requestID: origin.requestID,
                clientIP: origin.clientIP
            )
        )
    }

    /// The key behind a presented secret, if it is known and not revoked; its use is recorded.
    public func authenticate(apiKey secret: String) async throws -> APIKey {
        guard let key = try await store.apiKey(secretHash: SecretToken.hash(secret)), !key.isRevoked else {
            throw TeamGateError.invalidAPIKey
        }
        try await store.touchAPIKey(id: key.id, at: clock.now())
        return key
    }

    /// What a logout would end, without ending anything.
    public func dryRun(organizationID: String, phone: PhoneNumber) async throws -> (member: TeamMember, sessions: [Session]) {
        guard let member = try await store.member(organizationID: organizationID, phone: phone) else { throw TeamGateError.notATeamMember }
        let now = clock.now()
        return (member, try await store.sessions(memberID: member.id).filter { $0.isLive(at: now) })
    }

    /// Ends one device's session (the shared-device case); 0 when it had already ended.
    public func endSession(organizationID: String, sessionID: String, origin: RequestOrigin) async throws -> (sessionsEnded: Int, revocationID: String) {
        let revocationID = SecretToken.identifier(prefix: "rev_")
        guard
            let ended = try await store.endSession(
                id: sessionID, organizationID: organizationID, at: clock.now(), revocationID: revocationID, origin: origin)
        else { throw TeamGateError.unprocessable("Session not found") }
        return (ended, revocationID)
    }

    /// Ends every session in the organisation at once (an emergency); done when it returns.
    public func logOutEveryone(organizationID: String, reason: String, includeOwner: Bool, origin: RequestOrigin) async throws
        -> (membersAffected: Int, sessionsEnded: Int, revocationID: String)
    {
        let revocationID = SecretToken.identifier(prefix: "rev_")
        let result = try await store.endOrganizationSessions(
            organizationID: organizationID, includeOwner: includeOwner, note: reason, at: clock.now(), revocationID: revocationID, origin: origin)
        return (result.membersAffected, result.sessionsEnded, revocationID)
    }

    /// Lifts a lockout early; says whether one was in force.
    public func unlock(organizationID: String, phone: PhoneNumber, origin: RequestOrigin) async throws -> Bool {
        guard let wasLocked = try await store.unlockMember(organizationID: organizationID, phone: phone, at: clock.now(), origin: origin)
        else { throw TeamGateError.notATeamMember }
        return wasLocked
    }

    /// Ends every live session of the member with `phone` in the key's organisation, durably.
    /// Idempotent: a member with no live session gets `sessionsEnded == 0`.
    /// `reason` goes into the audit; `lockForMinutes` keeps the member from signing in again until then.
    public func logOut(
        apiKey secret: String,
        phone: PhoneNumber,
        reason: String? = nil,
        lockForMinutes: Int? = nil,
        requestID: String? = nil,
        clientIP: String? = nil
    ) async throws -> EndedMemberSessions {
        let now = clock.now()
        return try await store.endMemberSessions(
            EndMemberSessionsCommand(
                authority: .apiKey(secretHash: SecretToken.hash(secret)),
                phone: phone,
                reason: .adminLogout,
                note: reason,
                lockUntil: lockForMinutes.map { now.addingTimeInterval(TimeInterval($0) * 60) },
                at: now,
                revocationID: SecretToken.identifier(prefix: "rev_"),
                requestID: requestID,
                clientIP: clientIP
            )
        )
    }
}
