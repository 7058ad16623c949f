import Foundation

/// TeamGate's session tools beyond the seed: one device, a lockout lifted, everyone at once.
extension Logout {
    /// Ends one device's session (the shared-device case); 0 when it had already ended. `origin`'s actor must
    /// manage the session's member; `memberID`, when given, names whose page the request came from, and a
    /// session of anyone else is not found.
    public func endSession(
        _ sessionID: String, organizationID: String, memberID: String? = nil, origin: RequestOrigin
    ) async throws -> (sessionsEnded: Int, revocationID: String) {
        let now = clock.now()
        let revocationID = SecretToken.identifier(prefix: "rev_")
        let ended = try await transactions.run { work -> Int in
            guard let (session, member) = try work.session(id: sessionID, organizationID: organizationID), memberID == nil || member.id == memberID
            else { throw TeamGateError.sessionNotFound }
            try TeamRules.authorize(origin.actor, over: member)
            guard session.isLive(at: now) else { return 0 }
            let end = SessionEnd(
                selection: .session(id: sessionID, organizationID: organizationID), reason: .sessionRevoked, organizationID: organizationID,
                member: member, origin: origin, revocationID: revocationID, at: now, auditReason: session.deviceName,
                webhookData: ["sessionId": .string(sessionID), "deviceName": .string(session.deviceName)])
            return try SessionEnds.end(end, in: work).count
        }
        return (ended, revocationID)
    }

    /// Lifts a lockout early; says whether one was in force. `origin`'s actor must manage the member.
    public func unlock(_ phone: PhoneNumber, organizationID: String, origin: RequestOrigin) async throws -> Bool {
        let now = clock.now()
        return try await transactions.run { work in
            guard let member = try work.activeMember(organizationID: organizationID, phone: phone) else { throw TeamGateError.notATeamMember }
            try TeamRules.authorize(origin.actor, over: member)
            guard member.isLocked(at: now) else { return false }
            try work.setLock(memberID: member.id, until: nil)
            try work.appendAudit(.make(.memberUnlocked, organizationID: organizationID, at: now, origin: origin, member: member))
            return true
        }
    }

    /// Ends every session in the organisation at once (an emergency), the Owner's only when asked; done when it
    /// returns. Each member whose sessions ended is a `team_member.logged_out` webhook, as if logged out alone.
    public func logOutEveryone(organizationID: String, reason: String, includeOwner: Bool, origin: RequestOrigin) async throws
        -> (membersAffected: Int, sessionsEnded: Int, revocationID: String)
    {
        try TeamRules.checkManages(.wholeTeamLogout, actor: origin.actor, organizationID: organizationID)
        let now = clock.now()
        let revocationID = SecretToken.identifier(prefix: "rev_")
        let ended = try await transactions.run { work in
            let end = SessionEnd(
                selection: .organization(id: organizationID, sparing: includeOwner ? nil : .owner), reason: .orgLogout,
                organizationID: organizationID, member: nil, origin: origin, revocationID: revocationID, at: now, auditReason: reason,
                webhookData: ["reason": .string(reason)])
            return try SessionEnds.end(end, in: work)
        }
        return (Set(ended.map(\.memberID)).count, ended.count, revocationID)
    }
}

extension Logout {
    /// The sessions a revocation ended, with what their devices were told and confirmed.
    public func revocation(id: String, organizationID: String) async throws -> [RevokedSession] {
        guard let sessions = try await store.revocation(id: id, organizationID: organizationID) else { throw TeamGateError.revocationNotFound }
        return sessions
    }
}
