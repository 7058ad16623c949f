import Foundation
import GRDB

extension SQLStore: OrganizationStore, APIKeyStore, MemberStore, AuditStore {
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
                "SELECT * FROM members WHERE phone = ? AND removed_at IS NULL AND deactivated_at IS NULL ORDER BY created_at, id",
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
