import Foundation

/// The directory's writes to the role groups: membership is the member's role. Adding a user to a group gives them
/// its role; taking them out returns them to the lowest role. The Owner's group changes by no door (`TeamRules`).
extension Provisioning {
    /// The role a member returns to when a directory takes them out of their role's group.
    public static let roleOutsideEveryGroup = Role.teamMemberAssignedChats

    /// Membership changes a PATCH or PUT asks of one group.
    enum MembershipChange {
        case add([String])
        case remove([String])
        /// Take every member out of the group.
        case removeAll
        /// The group's members become exactly these.
        case replace([String])
    }

    /// Applies a PATCH to a group: `members` added, removed (by value filter, by list, or all) or replaced;
    /// `displayName` may only be "set" to the role's own name.
    public func patchGroup(id: String, with patch: SCIMPatch, organizationID: String, origin: RequestOrigin) async throws {
        guard let group = SCIMGroup(id: id) else { throw Self.groupNotFound(id) }
        var changes: [MembershipChange] = []
        for step in patch.steps {
            if let path = step.path {
                changes += try Self.changes(step.operation, path: path, value: step.value, group: group)
            } else {
                for (key, value) in step.value?.objectMembers ?? [] {
                    changes += try Self.changes(step.operation, path: try Self.plainPath(key), value: value, group: group)
                }
            }
        }
        try await apply(changes, to: group, organizationID: organizationID, origin: origin)
    }

    /// Replaces a group (PUT): its members become exactly those listed.
    public func replaceGroup(id: String, with body: ExactJSON, organizationID: String, origin: RequestOrigin) async throws -> ExactJSON {
        guard let group = SCIMGroup(id: id) else { throw Self.groupNotFound(id) }
        if let name = body.member(named: "displayName"), !name.isNull { try Self.checkName(name, of: group) }
        let members = try Self.memberIDs(body.member(named: "members") ?? .array([]))
        try await apply([.replace(members)], to: group, organizationID: organizationID, origin: origin)
        return try await self.group(id: id, organizationID: organizationID, withMembers: true)
    }

    private static func plainPath(_ key: String) throws(SCIMFailure) -> SCIMPatchPath {
        do {
            return try SCIMPatchPath(parsing: key)
        } catch {
            throw SCIMFailure.syntax(error, as: .invalidPath)
        }
    }

    private static func changes(_ operation: SCIMPatch.Operation, path: SCIMPatchPath, value: ExactJSON?, group: SCIMGroup) throws(SCIMFailure)
        -> [MembershipChange]
    {
        switch path.attribute.name.lowercased() {
        case "displayname":
            guard operation != .remove, let value else { throw SCIMFailure(.mutability, "A role group's displayName cannot be removed.") }
            try checkName(value, of: group)
            return []
        case "members":
            if let filter = path.valueFilter {
                guard operation == .remove else { throw SCIMFailure(.invalidPath, "Only a remove may filter members.") }
                guard case .compare(let key, .eq, .string(let memberID)) = filter, key.name.lowercased() == "value" else {
                    throw SCIMFailure(.invalidFilter, "Members are chosen by value: members[value eq \"<user id>\"].")
                }
                return [.remove([memberID])]
            }
            switch operation {
            case .add: return [.add(try memberIDs(value ?? .array([])))]
            case .replace: return [.replace(try memberIDs(value ?? .array([])))]
            case .remove:
                guard let value else { return [.removeAll] }
                return [.remove(try memberIDs(value))]
            }
        case "id", "meta", "schemas", "externalid":
            return []
        default:
            throw SCIMFailure(.invalidPath, "A role group has no attribute \(path.attribute.name.prefix(60)).")
        }
    }

    private static func checkName(_ value: ExactJSON, of group: SCIMGroup) throws(SCIMFailure) {
        guard let name = value.string, name.caseInsensitiveCompare(group.role.name) == .orderedSame else {
            throw SCIMFailure(.mutability, "A role group keeps its role's name, \"\(group.role.name)\".")
        }
    }

    /// The user ids of a `members` value: a list of `{"value": "<id>"}` (or one such object).
    private static func memberIDs(_ value: ExactJSON) throws(SCIMFailure) -> [String] {
        let items = value.array ?? [value]
        var ids: [String] = []
        for item in items {
            guard let id = item.member(named: "value")?.string else { throw SCIMFailure(.invalidValue, "Each member is an object with a value, the user's id.") }
            ids.append(id)
        }
        return ids
    }

    /// Changes the roles in one transaction, each member through the team's one recipe for a role change.
    private func apply(_ changes: [MembershipChange], to group: SCIMGroup, organizationID: String, origin: RequestOrigin) async throws {
        guard !changes.isEmpty else { return }
        let now = clock.now()
        let role = group.role
        try await transactions.run { work in
            try Self.checkToken(of: origin, in: work)
            func member(_ id: String) throws -> TeamMember {
                guard let (_, member) = try work.scimUser(memberID: id, organizationID: organizationID) else {
                    throw SCIMFailure(.invalidValue, "members: no user has the id \(id.prefix(100)).")
                }
                return member
            }
            func take(out member: TeamMember) throws {
                guard member.role == role else { return }
                // The Owner's group loses nobody: the rules refuse the Owner's change.
                _ = try TeamDirectory.changeRole(of: member, to: Self.roleOutsideEveryGroup, origin: origin, at: now, in: work)
            }
            for change in changes {
                switch change {
                case .add(let ids):
                    for id in ids { _ = try TeamDirectory.changeRole(of: try member(id), to: role, origin: origin, at: now, in: work) }
                case .remove(let ids):
                    for id in ids { try take(out: try member(id)) }
                case .removeAll:
                    for user in try work.scimUsers(role: role, organizationID: organizationID) { try take(out: try member(user)) }
                case .replace(let ids):
                    let wanted = Set(ids)
                    for user in try work.scimUsers(role: role, organizationID: organizationID) where !wanted.contains(user) { try take(out: try member(user)) }
                    for id in ids { _ = try TeamDirectory.changeRole(of: try member(id), to: role, origin: origin, at: now, in: work) }
                }
            }
        }
    }
}
