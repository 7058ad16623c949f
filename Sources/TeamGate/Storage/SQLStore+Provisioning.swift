import Foundation
import GRDB

extension SQLStore: ProvisioningStore {
    /// A directory user's row joined with its member's, every column of both.
    static let scimUserSelect = """
        SELECT u.member_id AS u_member_id, u.organization_id AS u_organization_id, u.user_name AS u_user_name,
            u.external_id AS u_external_id, u.attributes AS u_attributes, u.created_at AS u_created_at, u.updated_at AS u_updated_at, m.*
        FROM scim_users u JOIN members m ON m.id = u.member_id
        """

    public func scimUser(memberID: String, organizationID: String) async throws -> (user: SCIMUser, member: TeamMember)? {
        try await backend.read { db in try Self.scimUser(memberID: memberID, organizationID: organizationID, db) }
    }

    public func scimUsers(organizationID: String, attribute: String, equals value: String) async throws -> [(user: SCIMUser, member: TeamMember)] {
        let column: String
        let wanted: String
        switch attribute {
        case "username": (column, wanted) = ("u.user_name_key", SCIMUser.key(of: value))
        case "externalid": (column, wanted) = ("u.external_id", value)
        case "id": (column, wanted) = ("u.member_id", value)
        default: return []
        }
        return try await backend.read { db in
            try db.rows(Self.scimUserSelect + " WHERE u.organization_id = ? AND \(column) = ? AND m.removed_at IS NULL", [organizationID, wanted])
                .map(Self.scimUserAndMember(row:))
        }
    }

    public func scimUsers(organizationID: String, offset: Int, limit: Int) async throws -> [(user: SCIMUser, member: TeamMember)] {
        try await backend.read { db in
            try db.rows(
                Self.scimUserSelect + " WHERE u.organization_id = ? AND m.removed_at IS NULL ORDER BY u.created_at, u.member_id LIMIT ? OFFSET ?",
                [organizationID, limit, offset]
            ).map(Self.scimUserAndMember(row:))
        }
    }

    public func scimUserCount(organizationID: String) async throws -> Int {
        try await backend.read { db in
            let row = try db.row(
                "SELECT COUNT(*) AS n FROM scim_users u JOIN members m ON m.id = u.member_id WHERE u.organization_id = ? AND m.removed_at IS NULL",
                [organizationID])
            return Int(row?["n"] as Int64? ?? 0)
        }
    }

    public func scimUsers(organizationID: String, role: Role) async throws -> [SCIMUser] {
        try await backend.read { db in
            try db.rows(
                Self.scimUserSelect + " WHERE u.organization_id = ? AND m.role_id = ? AND m.removed_at IS NULL ORDER BY u.created_at, u.member_id",
                [organizationID, role.rawValue]
            ).map { Self.scimUserAndMember(row: $0).user }
        }
    }

    static func scimUser(memberID: String, organizationID: String, _ db: any SQLConnection) throws -> (user: SCIMUser, member: TeamMember)? {
        try db.row(Self.scimUserSelect + " WHERE u.member_id = ? AND u.organization_id = ? AND m.removed_at IS NULL", [memberID, organizationID])
            .map(Self.scimUserAndMember(row:))
    }

    static func scimUserAndMember(row: Row) -> (user: SCIMUser, member: TeamMember) {
        let text: String = row["u_attributes"]
        let attributes: ExactJSON
        do {
            attributes = try ExactJSON(parsing: text)
        } catch {
            // Written by `insertSCIMUser` from a parsed value, so it parses; a damaged row shows as no attributes.
            attributes = .object([])
        }
        let user = SCIMUser(
            memberID: row["u_member_id"], organizationID: row["u_organization_id"], userName: row["u_user_name"], externalID: row["u_external_id"],
            attributes: attributes, createdAt: Date(millisecondsSince1970: row["u_created_at"]), updatedAt: Date(millisecondsSince1970: row["u_updated_at"]))
        return (user, TeamMember(row: row))
    }
}

extension SQLUnitOfWork: ProvisioningUnitOfWork {
    func scimUser(memberID: String, organizationID: String) throws -> (user: SCIMUser, member: TeamMember)? {
        try SQLStore.scimUser(memberID: memberID, organizationID: organizationID, db)
    }

    func scimUserMemberID(userNameKey: String, organizationID: String) throws -> String? {
        try db.row("SELECT member_id FROM scim_users WHERE organization_id = ? AND user_name_key = ?", [organizationID, userNameKey])?["member_id"]
    }

    func insertSCIMUser(_ user: SCIMUser) throws {
        do {
            try db.execute(
                """
                INSERT INTO scim_users (member_id, organization_id, user_name, user_name_key, external_id, attributes, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    user.memberID, user.organizationID, user.userName, user.userNameKey, user.externalID, user.attributes.text,
                    user.createdAt.millisecondsSince1970, user.updatedAt.millisecondsSince1970,
                ])
        } catch where db.isUniqueViolation(error) {
            // The service looked for both first; a violation here is a race with another instance over the name.
            throw TeamGateError.userNameTaken
        }
    }

    func updateSCIMUser(_ user: SCIMUser) throws {
        do {
            try db.execute(
                "UPDATE scim_users SET user_name = ?, user_name_key = ?, external_id = ?, attributes = ?, updated_at = ? WHERE member_id = ?",
                [user.userName, user.userNameKey, user.externalID, user.attributes.text, user.updatedAt.millisecondsSince1970, user.memberID])
        } catch where db.isUniqueViolation(error) {
            throw TeamGateError.userNameTaken
        }
    }

    func updateProfile(of member: TeamMember) throws {
        let epoch = try IndexEpoch.advance(db)
        do {
            try db.execute(
                "UPDATE members SET name = ?, phone = ?, email = ?, change_epoch = ? WHERE id = ?", [member.name, member.phone.digits, member.email, epoch, member.id])
        } catch where db.isUniqueViolation(error) {
            throw TeamGateError.memberExists
        }
        changes.members.append(member)
    }

    func scimUsers(role: Role, organizationID: String) throws -> [String] {
        try db.rows(
            """
            SELECT u.member_id FROM scim_users u JOIN members m ON m.id = u.member_id
            WHERE u.organization_id = ? AND m.role_id = ? AND m.removed_at IS NULL ORDER BY u.created_at, u.member_id
            """,
            [organizationID, role.rawValue]
        ).map { $0["member_id"] }
    }

    func setDeactivated(memberID: String, at date: Date?) throws {
        try db.execute("UPDATE members SET deactivated_at = ? WHERE id = ?", [date?.millisecondsSince1970, memberID])
    }
}
