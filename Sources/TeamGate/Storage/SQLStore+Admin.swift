import Foundation
import GRDB

extension TeamMember {
    /// The member as webhook payloads describe them.
    var webhookData: [String: WebhookValue] {
        ["memberId": .string(id), "phoneNumber": .string(phone.e164), "name": .string(name)]
    }
}

extension SQLStore: TeamAdminStore {
    public func touchAPIKey(id: String, at date: Date) async throws {
        let cutoff = date.addingTimeInterval(-60).millisecondsSince1970
        try await writer.write { db in
            try db.execute(
                "UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
                [date.millisecondsSince1970, id, cutoff]
            )
        }
    }

    public func member(organizationID: String, phone: PhoneNumber) async throws -> TeamMember? {
        try await backend.read { db in try Self.activeMember(db, organizationID: organizationID, phone: phone) }
    }

    static func activeMember(_ db: any SQLConnection, organizationID: String, phone: PhoneNumber) throws -> TeamMember? {
        try db.row(
            "SELECT * FROM members WHERE organization_id = ? AND phone = ? AND removed_at IS NULL",
            [organizationID, phone.digits]
        ).map(TeamMember.init(row:))
    }

    public func insertMembers(_ members: [TeamMember], origin: RequestOrigin) async throws {
        try await writer.write { db in
            for member in members {
                do {
                    try member.insert(db)
                } catch TeamGateError.memberExists {
                    throw TeamGateError.unprocessable("Team member with phone \(member.phone.e164) already exists.")
                }
                try AuditEvent.make(.memberAdded, organizationID: member.organizationID, at: member.createdAt, origin: origin, member: member)
                    .insert(db)
            }
        }
    }

    public func removeMember(organizationID: String, phone: PhoneNumber, at date: Date, revocationID: String, origin: RequestOrigin)
        async throws -> EndedMemberSessions?
    {
        let outcome = try await writer.write(
            { db -> (EndedMemberSessions, [SessionIndex.Ended])? in
                guard let member = try Self.activeMember(db, organizationID: organizationID, phone: phone) else { return nil }
                guard !member.isOwner else { throw TeamGateError.unprocessable("The organisation owner cannot be removed.") }
                let now = date.millisecondsSince1970
                try db.execute("UPDATE members SET removed_at = ? WHERE id = ?", [now, member.id])
                let endedSessions = try Self.endLiveSessions(db, memberID: member.id, reason: .memberRemoved, at: now, revocationID: revocationID)
                try AuditEvent.make(
                    .memberRemoved, organizationID: organizationID, at: date, origin: origin, member: member, sessionsEnded: endedSessions.count,
                    revocationID: revocationID
                ).insert(db)
                var data = member.webhookData
                data["sessionsEnded"] = .int(endedSessions.count)
                data["revocationId"] = .string(revocationID)
                try WebhookOutbox.enqueue(db, organizationID: organizationID, event: .teamMemberRemoved, data: data, at: date)
                return (EndedMemberSessions(member: member, sessionsEnded: endedSessions.count, revocationID: revocationID), endedSessions)
            },
            afterCommit: { [index] outcome in
                if let (_, sessions) = outcome { index.end(sessions) }
            }
        )
        return outcome?.0
    }

    /// Ends a member's live sessions and says which, for the index and the devices.
    static func endLiveSessions(_ db: any SQLConnection, memberID: String, reason: SessionEndReason, at: Int64, revocationID: String) throws
        -> [SessionIndex.Ended]
    {
        let epoch = try IndexEpoch.advance(db)
        return try db.rows(
            """
            UPDATE sessions SET ended_at = ?, end_reason = ?, revocation_id = ?, end_epoch = ?
            WHERE member_id = ? AND ended_at IS NULL AND expires_at > ?
            RETURNING token_hash, id
            """, [at, reason.rawValue, revocationID, epoch, memberID, at]
        ).map { SessionIndex.Ended(tokenHash: $0["token_hash"], sessionID: $0["id"], reason: reason, revocationID: revocationID) }
    }

    public func changeRole(organizationID: String, phone: PhoneNumber, to role: Role, at date: Date, origin: RequestOrigin) async throws
        -> TeamMember?
    {
        try await writer.write(
            { db -> TeamMember? in
                guard var member = try Self.activeMember(db, organizationID: organizationID, phone: phone) else { return nil }
                guard !member.isOwner else { throw TeamGateError.unprocessable("The organisation owner's role cannot be changed.") }
                guard role != .owner else { throw TeamGateError.unprocessable("The Owner role cannot be assigned.") }
                let previous = member.role
                member.role = role
                let epoch = try IndexEpoch.advance(db)
                try db.execute("UPDATE members SET role_id = ?, change_epoch = ? WHERE id = ?", [role.rawValue, epoch, member.id])
                try AuditEvent.make(
                    .memberRoleChanged, organizationID: organizationID, at: date, origin: origin, member: member,
                    reason: "\(previous.name) → \(role.name)"
                ).insert(db)
                return member
            },
            afterCommit: { [index] member in
                if let member { index.updateMember(member) }
            }
        )
    }

    public func unlockMember(organizationID: String, phone: PhoneNumber, at date: Date, origin: RequestOrigin) async throws -> Bool? {
        try await writer.write { db -> Bool? in
            guard let member = try Self.activeMember(db, organizationID: organizationID, phone: phone) else { return nil }
            guard member.isLocked(at: date) else { return false }
            try db.execute("UPDATE members SET locked_until = NULL WHERE id = ?", [member.id])
            try AuditEvent.make(.memberUnlocked, organizationID: organizationID, at: date, origin: origin, member: member).insert(db)
            return true
        }
    }

    public func endSession(id: String, organizationID: String, at date: Date, revocationID: String, origin: RequestOrigin) async throws -> Int? {
        let outcome = try await writer.write(
            { db -> (Int, SessionIndex.Ended?)? in
                guard
                    let row = try db.row(
                        """
                        SELECT s.token_hash, s.ended_at AS session_ended_at, s.expires_at AS session_expires_at, s.device_name, m.*
                        FROM sessions s JOIN members m ON m.id = s.member_id
                        WHERE s.id = ? AND s.organization_id = ?
                        """,
                        [id, organizationID]
                    )
                else { return nil }
                let now = date.millisecondsSince1970
                guard (row["session_ended_at"] as Int64?) == nil, (row["session_expires_at"] as Int64) > now else { return (0, nil) }
                let member = TeamMember(row: row)
                let hash: Data = row["token_hash"]
                let epoch = try IndexEpoch.advance(db)
                try db.execute(
                    "UPDATE sessions SET ended_at = ?, end_reason = ?, revocation_id = ?, end_epoch = ? WHERE id = ?",
                    [now, SessionEndReason.sessionRevoked.rawValue, revocationID, epoch, id]
                )
                try AuditEvent.make(
                    .sessionEnded, organizationID: organizationID, at: date, origin: origin, member: member,
                    reason: row["device_name"], sessionsEnded: 1, revocationID: revocationID
                ).insert(db)
                var data = member.webhookData
                data["sessionId"] = .string(id)
                data["deviceName"] = .string(row["device_name"])
                data["revocationId"] = .string(revocationID)
                try WebhookOutbox.enqueue(db, organizationID: organizationID, event: .sessionEnded, data: data, at: date)
                return (1, SessionIndex.Ended(tokenHash: hash, sessionID: id, reason: .sessionRevoked, revocationID: revocationID))
            },
            afterCommit: { [index] outcome in
                if let ended = outcome?.1 { index.end([ended]) }
            }
        )
        return outcome?.0
    }

    public func endOrganizationSessions(
        organizationID: String, includeOwner: Bool, note: String, at date: Date, revocationID: String, origin: RequestOrigin
    ) async throws -> (membersAffected: Int, sessionsEnded: Int) {
        let outcome = try await writer.write(
            { db -> (Int, [SessionIndex.Ended]) in
                let now = date.millisecondsSince1970
                let epoch = try IndexEpoch.advance(db)
                let rows = try db.rows(
                    """
                    UPDATE sessions SET ended_at = ?, end_reason = ?, revocation_id = ?, end_epoch = ?
                    WHERE organization_id = ? AND ended_at IS NULL AND expires_at > ?
                      AND (? = 1 OR member_id NOT IN (SELECT id FROM members WHERE organization_id = ? AND role_id = ?))
                    RETURNING token_hash, member_id, id
                    """,
                    [
                        now, SessionEndReason.orgLogout.rawValue, revocationID, epoch, organizationID, now, includeOwner, organizationID,
                        Role.owner.rawValue,
                    ]
                )
                let members = Set(rows.map { $0["member_id"] as String })
                try AuditEvent.make(
                    .teamLoggedOut, organizationID: organizationID, at: date, origin: origin, reason: note, sessionsEnded: rows.count,
                    revocationID: revocationID
                ).insert(db)
                return (
                    members.count,
                    rows.map { SessionIndex.Ended(tokenHash: $0["token_hash"], sessionID: $0["id"], reason: .orgLogout, revocationID: revocationID) }
                )
            },
            afterCommit: { [index] outcome in index.end(outcome.1) }
        )
        return (outcome.0, outcome.1.count)
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
