import Foundation

/// DoubleTick's Team API over the directory: everything scoped to the calling key's organisation, so
/// another organisation's member is indistinguishable from a stranger.
extension TeamDirectory {
    /// A member to add, as `POST /team/members` names them.
    public struct NewMember: Sendable {
        public let name: MemberName
        public let phone: PhoneNumber
        public let email: String?
        public let role: Role

        public init(name: MemberName, phone: PhoneNumber, email: String?, role: Role) {
            self.name = name
            self.phone = phone
            self.email = email
            self.role = role
        }
    }

    public func member(organizationID: String, phone: PhoneNumber) async throws -> TeamMember {
        guard let member = try await store.member(organizationID: organizationID, phone: phone) else {
            throw TeamGateError.memberNotFound
        }
        return member
    }

    /// Adds every member or none. New members may not be Owners.
    public func addMembers(organizationID: String, reportingManagerPhone: PhoneNumber?, members: [NewMember], origin: RequestOrigin) async throws {
        var managerID: String?
        if let reportingManagerPhone {
            guard let manager = try await store.member(organizationID: organizationID, phone: reportingManagerPhone) else {
                throw TeamGateError.reportingManagerNotFound
            }
            managerID = manager.id
        }
        var seen = Set<PhoneNumber>()
        for (index, member) in members.enumerated() {
            guard seen.insert(member.phone).inserted else {
                throw TeamGateError.validation(["members.\(index).phone appears more than once in the request"])
            }
            try TeamRules.checkAssignable(member.role)
        }
        let now = clock.now()
        let newMembers = members.map {
            TeamMember(
                id: SecretToken.identifier(prefix: "mem_"), organizationID: organizationID, name: $0.name.text, phone: $0.phone, email: $0.email,
                role: $0.role, createdAt: now, reportingManagerID: managerID)
        }
        try await transactions.run { work in
            for member in newMembers {
                do {
                    try work.insertMember(member)
                } catch TeamGateError.memberExists {
                    throw TeamGateError.phoneAlreadyOnTeam(member.phone)
                }
                try work.appendAudit(.make(.memberAdded, organizationID: organizationID, at: now, origin: origin, member: member))
            }
        }
    }

    /// Takes a member off the team and ends their sessions; they can never sign in again.
    public func removeMember(organizationID: String, phone: PhoneNumber, origin: RequestOrigin) async throws -> EndedMemberSessions {
        let now = clock.now()
        let revocationID = SecretToken.identifier(prefix: "rev_")
        return try await transactions.run { work in
            guard let member = try work.activeMember(organizationID: organizationID, phone: phone) else { throw TeamGateError.memberToChangeNotFound }
            return try Self.remove(member, origin: origin, revocationID: revocationID, at: now, in: work)
        }
    }

    /// The one recipe for taking a member off the team, by every door (the API, the console, the directory).
    static func remove(_ member: TeamMember, origin: RequestOrigin, revocationID: String, at now: Date, in work: any UnitOfWork) throws -> EndedMemberSessions {
        try TeamRules.authorize(origin.actor, over: member)
        try TeamRules.checkRemovable(member)
        try work.markRemoved(memberID: member.id, at: now)
        let end = SessionEnd(
            selection: .member(id: member.id), reason: .memberRemoved, organizationID: member.organizationID, member: member, origin: origin,
            revocationID: revocationID, at: now)
        let ended = try SessionEnds.end(end, in: work)
        return EndedMemberSessions(member: member, sessionsEnded: ended.count, revocationID: revocationID)
    }

    public func changeRole(organizationID: String, phone: PhoneNumber, to role: Role, origin: RequestOrigin) async throws -> TeamMember {
        let now = clock.now()
        return try await transactions.run { work in
            guard let member = try work.activeMember(organizationID: organizationID, phone: phone) else { throw TeamGateError.memberToChangeNotFound }
            return try Self.changeRole(of: member, to: role, origin: origin, at: now, in: work)
        }
    }

    /// The one recipe for a role change, by every door (the API, the console, the directory's groups).
    static func changeRole(of member: TeamMember, to role: Role, origin: RequestOrigin, at now: Date, in work: any UnitOfWork) throws -> TeamMember {
        try TeamRules.authorize(origin.actor, over: member)
        try TeamRules.checkRoleChange(of: member, to: role)
        guard member.role != role else { return member }
        var changed = member
        changed.role = role
        try work.updateRole(of: changed)
        try work.appendAudit(
            .make(
                .memberRoleChanged, organizationID: member.organizationID, at: now, origin: origin, member: changed,
                reason: "\(member.role.name) → \(role.name)"))
        return changed
    }

    /// The organisation's active member with this id, if any.
    public func member(organizationID: String, id: String) async throws -> TeamMember? {
        try await store.members(organizationID: organizationID, ids: [id]).first(where: \.isActive)
    }

    /// A member's sessions, newest first.
    public func sessions(of member: TeamMember) async throws -> [Session] {
        try await store.sessions(memberID: member.id).sorted { $0.createdAt > $1.createdAt }
    }

    /// Every member's live sessions and latest activity, in one read however large the team.
    public func sessionSummaries(organizationID: String) async throws -> [String: SessionSummary] {
        try await store.sessionSummaries(organizationID: organizationID, at: clock.now())
    }

    /// A member's sessions, newest first. A number not on the team is refused as the seed's logout
    /// refuses it (`notATeamMember`, 422), so the session tools answer alike.
    public func sessions(organizationID: String, phone: PhoneNumber) async throws -> [Session] {
        guard let member = try await store.member(organizationID: organizationID, phone: phone) else { throw TeamGateError.notATeamMember }
        return try await sessions(of: member)
    }

    /// A page of the audit log; a cursor that is no event of the organisation is refused.
    public func auditEvents(_ query: AuditQuery) async throws -> [AuditEvent] {
        try Self.checkCursor(query.afterEventID)
        guard let events = try await store.auditEvents(query) else {
            throw TeamGateError.invalidCursor
        }
        return events
    }

    /// A cursor is an id from an earlier page: 1–100 characters, and one the store finds (checked where it reads).
    static func checkCursor(_ cursor: String?) throws(TeamGateError) {
        if let cursor, !(1...100).contains(cursor.count) { throw .invalidCursor }
    }
}
