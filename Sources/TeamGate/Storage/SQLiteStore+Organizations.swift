import Foundation
import GRDB

extension SQLiteStore: OrganizationStore, APIKeyStore, MemberStore, AuditStore {
    public func createOrganization(_ organization: Organization, owner: TeamMember, firstKey: NewAPIKey, origin: RequestOrigin) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)",
                arguments: [organization.id, organization.name, organization.createdAt.millisecondsSince1970]
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
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM organizations ORDER BY created_at, id").map(Organization.init(row:))
        }
    }

    public func organization(id: String) async throws -> Organization? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM organizations WHERE id = ?", arguments: [id]).map(Organization.init(row:))
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
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM api_keys WHERE organization_id = ? ORDER BY created_at, id",
                arguments: [organizationID]
            ).map(APIKey.init(row:))
        }
    }

    public func apiKey(secretHash: Data) async throws -> APIKey? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE secret_hash = ?", arguments: [secretHash]).map(APIKey.init(row:))
        }
    }

    public func revokeAPIKey(idOrPrefix: String, organizationID: String, at date: Date, origin: RequestOrigin) async throws -> APIKey? {
        try await writer.write { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT * FROM api_keys WHERE organization_id = ? AND (id = ? OR prefix = ?)",
                    arguments: [organizationID, idOrPrefix, idOrPrefix]
                )
            else { return nil }
            var key = APIKey(row: row)
            guard !key.isRevoked else { return key }
            try db.execute(sql: "UPDATE api_keys SET revoked_at = ? WHERE id = ?", arguments: [date.millisecondsSince1970, key.id])
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
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM members WHERE organization_id = ? AND removed_at IS NULL ORDER BY created_at, id",
                arguments: [organizationID]
            ).map(TeamMember.init(row:))
        }
    }

    public func activeMembers(phone: PhoneNumber) async throws -> [TeamMember] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM members WHERE phone = ? AND removed_at IS NULL ORDER BY created_at, id",
                arguments: [phone.digits]
            ).map(TeamMember.init(row:))
        }
    }

    public func auditEvents(organizationID: String, limit: Int) async throws -> [AuditEvent] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM audit_events WHERE organization_id = ? ORDER BY seq DESC LIMIT ?",
                arguments: [organizationID, limit]
            ).map(AuditEvent.init(row:))
        }
    }
}
