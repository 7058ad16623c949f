import Foundation
import GRDB

extension SQLStore: OrganizationStore, APIKeyStore, MemberStore, AuditStore {
    public func createOrganization(_ organization: Organization, owner: TeamMember, firstKey: NewAPIKey, origin: RequestOrigin) async throws {
        try await writer.write { db in
            try db.execute(
                "INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)",
                [organization.id, organization.name, organization.createdAt.millisecondsSince1970]
            )
            try owner.insert(db)
            try firstKey.insert(db)
            let at = organization.createdAt
            try AuditEvent.make(.organizationCreated, organizationID: organization.id, at: at, origin: origin).insert(db)
            try AuditEvent.make(.memberAdded, organizationID: organization.id, at: at, origin: origin, member: owner).insert(db)
            try AuditEvent.make(.apiKeyCreated, organizationID: organization.id, at: at, origin: origin, reason: firstKey.key.prefix)
                .insert(db)
        }
    }

    public func organizations() async throws -> [Organization] {
        try await backend.read { db in
            try db.rows("SELECT * FROM organizations ORDER BY created_at, id").map(Organization.init(row:))
        }
    }

    public func organization(id: String) async throws -> Organization? {
        try await backend.read { db in
            try db.row("SELECT * FROM organizations WHERE id = ?", [id]).map(Organization.init(row:))
        }
    }

    public func insertAPIKey(_ newKey: NewAPIKey, origin: RequestOrigin) async throws {
        try await writer.write { db in
            try newKey.insert(db)
            try AuditEvent.make(
                .apiKeyCreated, organizationID: newKey.key.organizationID, at: newKey.key.createdAt, origin: origin,
                reason: newKey.key.prefix
            ).insert(db)
        }
    }

    public func apiKeys(organizationID: String) async throws -> [APIKey] {
        try await backend.read { db in
            try db.rows(
                "SELECT * FROM api_keys WHERE organization_id = ? ORDER BY created_at, id",
                [organizationID]
            ).map(APIKey.init(row:))
        }
    }

    public func apiKey(secretHash: Data) async throws -> APIKey? {
        try await backend.read { db in
            try db.row("SELECT * FROM api_keys WHERE secret_hash = ?", [secretHash]).map(APIKey.init(row:))
        }
    }

    public func revokeAPIKey(idOrPrefix: String, organizationID: String, at date: Date, origin: RequestOrigin) async throws -> APIKey? {
        try await writer.write { db in
            guard
                let row = try db.row(
                    "SELECT * FROM api_keys WHERE organization_id = ? AND (id = ? OR prefix = ?)",
                    [organizationID, idOrPrefix, idOrPrefix]
                )
            else { return nil }
            var key = APIKey(row: row)
            guard !key.isRevoked else { return key }
            try db.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?", [date.millisecondsSince1970, key.id])
            key.revokedAt = date
            try AuditEvent.make(.apiKeyRevoked, organizationID: organizationID, at: date, origin: origin, reason: key.prefix).insert(db)
            return key
        }
    }

    public func insertMember(_ member: TeamMember, origin: RequestOrigin) async throws {
        try await writer.write { db in
            try member.insert(db)
            try AuditEvent.make(.memberAdded, organizationID: member.organizationID, at: member.createdAt, origin: origin, member: member)
                .insert(db)
        }
    }

    public func members(organizationID: String) async throws -> [TeamMember] {
        try await backend.read { db in
            try db.rows(
                "SELECT * FROM members WHERE organization_id = ? AND removed_at IS NULL ORDER BY created_at, id",
                [organizationID]
            ).map(TeamMember.init(row:))
        }
    }

    public func members(organizationID: String, afterMemberID: String?, limit: Int) async throws -> [TeamMember]? {
        try await backend.read { db in
            var sql = "SELECT * FROM members WHERE organization_id = ? AND removed_at IS NULL"
            var arguments: SQLArguments = [organizationID]
            if let afterMemberID {
                guard let cursor = try db.row("SELECT created_at FROM members WHERE id = ? AND organization_id = ?", [afterMemberID, organizationID])
                else { return nil }
                let createdAt: Int64 = cursor["created_at"]
                sql += " AND (created_at > ? OR (created_at = ? AND id > ?))"
                arguments += [createdAt, createdAt, afterMemberID]
            }
            return try db.rows(sql + " ORDER BY created_at, id LIMIT ?", arguments + [limit]).map(TeamMember.init(row:))
        }
    }

    public func members(organizationID: String, ids: Set<String>) async throws -> [TeamMember] {
        guard !ids.isEmpty else { return [] }
        return try await backend.read { db in
            let placeholders = Array(repeating: "?", count: ids.count).joined(separator: ", ")
            let arguments: SQLArguments = [organizationID] + ids.sorted().map { $0 }
            return try db.rows("SELECT * FROM members WHERE organization_id = ? AND id IN (\(placeholders))", arguments).map(TeamMember.init(row:))
        }
    }

    public func activeMembers(phone: PhoneNumber) async throws -> [TeamMember] {
        try await backend.read { db in
            try db.rows(
                "SELECT * FROM members WHERE phone = ? AND removed_at IS NULL ORDER BY created_at, id",
                [phone.digits]
            ).map(TeamMember.init(row:))
        }
    }

    public func auditEvents(organizationID: String, limit: Int) async throws -> [AuditEvent] {
        try await backend.read { db in
            try db.rows(
                "SELECT * FROM audit_events WHERE organization_id = ? ORDER BY seq DESC LIMIT ?",
                [organizationID, limit]
            ).map(AuditEvent.init(row:))
        }
    }
}
