import Foundation

/// TeamGate's session tools beyond the seed: one device, a lockout lifted, everyone at once.
extension Logout {
    /// Ends one device's session (the shared-device case); 0 when it had already ended. From the console,
    /// `admin` must manage the session's member, and `memberID` names whose page the form was on.
    public func endSession(
        _ sessionID: String, organizationID: String, by admin: TeamMember? = nil, memberID: String? = nil, origin: RequestOrigin
    ) async throws -> (sessionsEnded: Int, revocationID: String) {
        let now = clock.now()
        let revocationID = SecretToken.identifier(prefix: "rev_")
        let ended = try await transactions.run { work -> Int in
            guard let (session, member) = try work.session(id: sessionID, organizationID: organizationID), memberID == nil || member.id == memberID
            else { throw TeamGateError.unprocessable("Session not found") }
            if let admin { try TeamRules.authorize(admin, over: member) }
            guard session.isLive(at: now) else { return 0 }
            let ended = try work.endSessions(.session(id: sessionID, organizationID: organizationID), reason: .sessionRevoked, revocationID: revocationID, at: now)
            try work.appendAudit(
                .make(
                    .sessionEnded, organizationID: organizationID, at: now, origin: origin, member: member, reason: session.deviceName,
                    sessionsEnded: ended.count, revocationID: revocationID))
            var data = member.webhookData
            data["sessionId"] = .string(sessionID)
            data["deviceName"] = .string(session.deviceName)
            data["revocationId"] = .string(revocationID)
            try work.enqueueWebhook(WebhookMessage(organizationID: organizationID, event: .sessionEnded, data: data, at: now))
            return ended.count
        }
        return (ended, revocationID)
    }

    /// Lifts a lockout early; says whether one was in force. From the console, `admin` must manage the member.
    public func unlock(organizationID: String, phone: PhoneNumber, by admin: TeamMember? = nil, origin: RequestOrigin) async throws -> Bool {
        let now = clock.now()
        return try await transactions.run { work in
            guard let member = try work.activeMember(organizationID: organizationID, phone: phone) else { throw TeamGateError.notATeamMember }
            if let admin { try TeamRules.authorize(admin, over: member) }
            guard member.isLocked(at: now) else { return false }
            try work.setLock(memberID: member.id, until: nil)
            try work.appendAudit(.make(.memberUnlocked, organizationID: organizationID, at: now, origin: origin, member: member))
            return true
        }
    }

    /// Ends every session in the organisation at once (an emergency), the Owner's only when asked; done when it returns.
    public func logOutEveryone(organizationID: String, reason: String, includeOwner: Bool, origin: RequestOrigin) async throws
        -> (membersAffected: Int, sessionsEnded: Int, revocationID: String)
    {
        let now = clock.now()
        let revocationID = SecretToken.identifier(prefix: "rev_")
        let ended = try await transactions.run { work in
            let ended = try work.endSessions(
                .organization(id: organizationID, sparing: includeOwner ? nil : .owner), reason: .orgLogout, revocationID: revocationID, at: now)
            try work.appendAudit(
                .make(
                    .teamLoggedOut, organizationID: organizationID, at: now, origin: origin, reason: reason, sessionsEnded: ended.count,
                    revocationID: revocationID))
            return ended
        }
        return (Set(ended.map(\.memberID)).count, ended.count, revocationID)
    }
}

extension Logout {
    /// The sessions a revocation ended, with what their devices were told and confirmed.
    public func revocation(id: String, organizationID: String) async throws -> [RevokedSession] {
        guard let sessions = try await store.revocation(id: id, organizationID: organizationID) else { throw TeamGateError.notFound("Revocation not found") }
        return sessions
    }
}
