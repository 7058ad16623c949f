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

    /// Newest first by time (ties by the order written), so every filter walks an index of (organisation, [filter],
    /// time) from the top and `since` ends the walk: a `since` in the future or a rare `action` costs a seek, not a
    /// pass over the organisation's whole log.
    public func auditEvents(_ query: AuditQuery) async throws -> [AuditEvent]? {
        try await backend.read { db in
            var cursor: (occurredAt: Int64, seq: Int64)?
            if let after = query.afterEventID {
                guard
                    let row = try db.row(
                        "SELECT occurred_at, seq FROM audit_events WHERE id = ? AND organization_id = ?", [after, query.organizationID])
                else { return nil }
                cursor = (row["occurred_at"], row["seq"])
            }
            let page = Self.auditPage(query, after: cursor)
            return try db.rows(page.sql, page.arguments).map(AuditEvent.init(row:))
        }
    }

    /// The statement for one audit page after the cursor event's (time, seq).
    static func auditPage(_ query: AuditQuery, after cursor: (occurredAt: Int64, seq: Int64)?) -> (sql: String, arguments: SQLArguments) {
        var sql = "SELECT * FROM audit_events WHERE organization_id = ?"
        var arguments: SQLArguments = [query.organizationID]
        if let cursor {
            sql += " AND (occurred_at, seq) < (?, ?)"
            arguments += [cursor.occurredAt, cursor.seq]
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
        sql += " ORDER BY occurred_at DESC, seq DESC LIMIT ?"
        arguments.append(query.limit)
        return (sql, arguments)
    }
}
