import Foundation

/// The directory's writes to its users: each one transaction, the member and the directory user together.
extension Provisioning {
    /// Provisions a user: a new member in the lowest role, or, when the number is already a member's who has no
    /// directory user, that member (the directory takes them over).
    public func createUser(_ body: ExactJSON, organizationID: String, origin: RequestOrigin) async throws -> ExactJSON {
        let document = try SCIMUserDocument(body)
        let now = clock.now()
        let (user, member) = try await transactions.run { work in
            try Self.checkToken(of: origin, in: work)
            guard try work.scimUserMemberID(userNameKey: SCIMUser.key(of: document.userName), organizationID: organizationID) == nil else {
                throw TeamGateError.userNameTaken
            }
            let member: TeamMember
            if let existing = try work.activeMember(organizationID: organizationID, phone: document.phone) {
                guard try work.scimUser(memberID: existing.id, organizationID: organizationID) == nil else { throw TeamGateError.memberAlreadyProvisioned }
                try TeamRules.authorize(origin.actor, over: existing)
                member = try Self.updateProfile(of: existing, to: document, origin: origin, at: now, in: work)
            } else {
                member = TeamMember(
                    id: SecretToken.identifier(prefix: "mem_"), organizationID: organizationID, name: document.name.text, phone: document.phone,
                    email: document.email, role: .teamMemberAssignedChats, createdAt: now)
                try TeamRules.authorize(origin.actor, over: member)
                try work.insertMember(member)
                try work.appendAudit(.make(.memberAdded, organizationID: organizationID, at: now, origin: origin, member: member))
            }
            let user = SCIMUser(
                memberID: member.id, organizationID: organizationID, userName: document.userName, externalID: document.externalID,
                attributes: document.attributes, createdAt: now, updatedAt: now)
            try work.insertSCIMUser(user)
            return (user, try Self.setActive(document.active ?? true, of: member, origin: origin, at: now, in: work))
        }
        return user.resource(member: member, baseURL: baseURL)
    }

    /// Replaces the user's attributes with `body` (PUT). Without `active`, the member stays as active as they were.
    public func replaceUser(id: String, with body: ExactJSON, organizationID: String, origin: RequestOrigin) async throws -> ExactJSON {
        let document = try SCIMUserDocument(body)
        return try await change(id: id, organizationID: organizationID, origin: origin) { _, _ in document }
    }

    /// Applies a PATCH's operations, in order, to the user as stored (with `active`), then stores the result.
    public func patchUser(id: String, with patch: SCIMPatch, organizationID: String, origin: RequestOrigin) async throws -> ExactJSON {
        try await change(id: id, organizationID: organizationID, origin: origin) { user, member in
            let current = user.attributes.setting("active", to: .bool(!member.isDeactivated))
            return try SCIMUserDocument(try patch.applied(to: current))
        }
    }

    /// Removes the member (DELETE): their sessions end and the directory user is gone.
    public func deleteUser(id: String, organizationID: String, origin: RequestOrigin) async throws {
        let now = clock.now()
        let revocationID = SecretToken.identifier(prefix: "rev_")
        _ = try await transactions.run { work in
            try Self.checkToken(of: origin, in: work)
            guard let (_, member) = try work.scimUser(memberID: id, organizationID: organizationID) else { throw Self.userNotFound(id) }
            return try TeamDirectory.remove(member, origin: origin, revocationID: revocationID, at: now, in: work)
        }
    }

    /// Reads the user, makes the new document from it, and stores the document, the member's profile and their state.
    private func change(
        id: String, organizationID: String, origin: RequestOrigin,
        _ makeDocument: @escaping @Sendable (SCIMUser, TeamMember) throws -> SCIMUserDocument
    ) async throws -> ExactJSON {
        let now = clock.now()
        let (user, member) = try await transactions.run { work in
            try Self.checkToken(of: origin, in: work)
            guard let (stored, member) = try work.scimUser(memberID: id, organizationID: organizationID) else { throw Self.userNotFound(id) }
            try TeamRules.authorize(origin.actor, over: member)
            let document = try makeDocument(stored, member)
            let key = SCIMUser.key(of: document.userName)
            if key != stored.userNameKey, let holder = try work.scimUserMemberID(userNameKey: key, organizationID: organizationID), holder != id {
                throw TeamGateError.userNameTaken
            }
            var user = stored
            user.userName = document.userName
            user.externalID = document.externalID
            user.attributes = document.attributes
            user.updatedAt = now
            try work.updateSCIMUser(user)
            let updated = try Self.updateProfile(of: member, to: document, origin: origin, at: now, in: work)
            return (user, try Self.setActive(document.active ?? !member.isDeactivated, of: updated, origin: origin, at: now, in: work))
        }
        return user.resource(member: member, baseURL: baseURL)
    }

    /// The member with the document's name, number and email, stored and audited when any changed. A number another
    /// member holds is refused (`memberExists`).
    private static func updateProfile(
        of member: TeamMember, to document: SCIMUserDocument, origin: RequestOrigin, at now: Date, in work: any UnitOfWork
    ) throws -> TeamMember {
        var changed = member
        changed.name = document.name.text
        changed.phone = document.phone
        changed.email = document.email
        guard changed != member else { return member }
        try work.updateProfile(of: changed)
        let what = [changed.name != member.name ? "name" : nil, changed.phone != member.phone ? "phone" : nil, changed.email != member.email ? "email" : nil]
        try work.appendAudit(
            .make(.memberUpdated, organizationID: member.organizationID, at: now, origin: origin, member: changed, reason: what.compactMap { $0 }.joined(separator: ", ")))
        return changed
    }

    /// Deactivates or reactivates the member. A deactivation ends every session of theirs in this transaction, with the
    /// audit event, the webhooks and the apps' back-channel logouts `SessionEnds` composes; devices hear it at the commit.
    static func setActive(_ active: Bool, of member: TeamMember, origin: RequestOrigin, at now: Date, in work: any UnitOfWork) throws -> TeamMember {
        guard active == member.isDeactivated else { return member }
        var changed = member
        if active {
            changed.deactivatedAt = nil
            try work.setDeactivated(memberID: member.id, at: nil)
            try work.appendAudit(.make(.memberReactivated, organizationID: member.organizationID, at: now, origin: origin, member: changed))
            try work.enqueueWebhook(WebhookMessage(organizationID: member.organizationID, event: .teamMemberReactivated, data: changed.webhookData, at: now))
            return changed
        }
        try TeamRules.checkDeactivatable(member)
        changed.deactivatedAt = now
        try work.setDeactivated(memberID: member.id, at: now)
        let end = SessionEnd(
            selection: .member(id: member.id), reason: .deprovisioned, organizationID: member.organizationID, member: changed, origin: origin,
            revocationID: SecretToken.identifier(prefix: "rev_"), at: now)
        _ = try SessionEnds.end(end, in: work)
        return changed
    }
}
