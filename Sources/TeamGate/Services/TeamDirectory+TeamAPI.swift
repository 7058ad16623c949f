import Foundation

/// DoubleTick's Team API over the directory: everything scoped to the calling key's organisation, so
/// another organisation's member is indistinguishable from a stranger.
extension TeamDirectory {
    /// A member to add, as `POST /team/members` names them.
    public struct NewMember: Sendable {
        public let name: String
        public let phone: PhoneNumber
        public let email: String?
        public let role: Role

        public init(name: String, phone: PhoneNumber, email: String?, role: Role) {
            self.name = name
            self.phone = phone
            self.email = email
            self.role = role
        }
    }

    public func member(organizationID: String, phone: PhoneNumber) async throws -> TeamMember {
        guard let member = try await store.member(organizationID: organizationID, phone: phone) else {
            throw TeamGateError.notFound("Team member not found")
        }
        return member
    }

    /// Adds every member or none. New members may not be Owners.
    public func addMembers(organizationID: String, reportingManagerPhone: PhoneNumber?, members: [NewMember], origin: RequestOrigin) async throws {
        var managerID: String?
        if let reportingManagerPhone {
            guard let manager = try await store.member(organizationID: organizationID, phone: reportingManagerPhone) else {
                throw TeamGateError.unprocessable("Reporting manager does not exist.")
            }
            managerID = manager.id
        }
        var seen = Set<PhoneNumber>()
        for (index, member) in members.enumerated() {
            guard seen.insert(member.phone).inserted else {
                throw TeamGateError.validation(["members.\(index).phone appears more than once in the request"])
            }
            if member.role == .owner { throw TeamGateError.unprocessable("The Owner role cannot be assigned.") }
        }
        let now = clock.now()
        try await store.insertMembers(
            members.map {
                TeamMember(
                    id: SecretToken.identifier(prefix: "mem_"), organizationID: organizationID, name: $0.name, phone: $0.phone, email: $0.email,
                    role: $0.role, createdAt: now, reportingManagerID: managerID)
            },
            origin: origin
        )
    }

    /// Takes a member off the team and ends their sessions; they can never sign in again.
    public func removeMember(organizationID: String, phone: PhoneNumber, origin: RequestOrigin) async throws -> EndedMemberSessions {
        guard
            let ended = try await store.removeMember(
                organizationID: organizationID, phone: phone, at: clock.now(), revocationID: SecretToken.identifier(prefix: "rev_"), origin: origin)
        else { throw TeamGateError.unprocessable("User not found") }
        return ended
    }

    public func changeRole(organizationID: String, phone: PhoneNumber, to role: Role, origin: RequestOrigin) async throws -> TeamMember {
        guard let member = try await store.changeRole(organizationID: organizationID, phone: phone, to: role, at: clock.now(), origin: origin)
        else { throw TeamGateError.unprocessable("User not found") }
        return member
    }

    /// A member's sessions, newest first.
    public func sessions(organizationID: String, phone: PhoneNumber) async throws -> [Session] {
        let member = try await member(organizationID: organizationID, phone: phone)
        return try await store.sessions(memberID: member.id).sorted { $0.createdAt > $1.createdAt }
    }

    /// A page of the audit log; a cursor that is no event of the organisation is refused.
    public func auditEvents(_ query: AuditQuery) async throws -> [AuditEvent] {
        guard let events = try await store.auditEvents(query) else {
            throw TeamGateError.validation(["cursor must be a nextCursor from an earlier page"])
        }
        return events
    }
}
