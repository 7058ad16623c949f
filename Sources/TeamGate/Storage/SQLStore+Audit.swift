import Foundation
import GRDB

extension SQLStore {
    public func member(organizationID: String, phone: PhoneNumber) async throws -> TeamMember? {
        try await backend.read { db in try Self.activeMember(db, organizationID: organizationID, phone: phone) }
    }

    static func activeMember(_ db: any SQLConnection, organizationID: String, phone: PhoneNumber) throws -> TeamMember? {
        try db.row(
            "SELECT * FROM members WHERE organization_id = ? AND phone = ? AND removed_at IS NULL",
            [organizationID, phone.digits]
        ).map(TeamMember.init(row:))
    }

    public func auditEvents(_ query: AuditQuery) async throws -> [AuditEvent]? {
        try await backend.read { db in
            var sql = "SELECT * FROM audit_events WHERE organization_id = ?"
            var arguments: SQLArguments = [query.organizationID]
            if let after = query.afterEventID {
                guard let cursor = try db.row("SELECT seq FROM audit_events WHERE id = ? AND organization_id = ?", [after, query.organizationID])
                else { return nil }
                sql += " AND seq < ?"
                arguments.append(cursor["seq"] as Int64)
            }
            if let phone = query.memberPhone {
                sql += " AND member_phone = ?"
                arguments.append(phone.digits)
            }
            if let action = query.action {
                sql += " AND action = ?"
                arguments.append(action.rawValue)
            }
            if let since = query.since {
                sql += " AND occurred_at >= ?"
                arguments.append(since.millisecondsSince1970)
            }
            sql += " ORDER BY seq DESC LIMIT ?"
            arguments.append(query.limit)
            return try db.rows(sql, arguments).map(AuditEvent.init(row:))
        }
    }
}
