import Foundation
import GRDB

// Reading and writing domain values as rows. Kept here so the domain stays free of GRDB.

extension Organization {
    init(row: Row) {
        self.init(id: row["id"], name: row["name"], createdAt: Date(millisecondsSince1970: row["created_at"]))
    }
}

extension APIKey {
    init(row: Row) {
        self.init(
            id: row["id"],
            organizationID: row["organization_id"],
            prefix: row["prefix"],
            name: row["name"],
            createdAt: Date(millisecondsSince1970: row["created_at"]),
            lastUsedAt: Date(millisecondsSince1970: row["last_used_at"] as Int64?),
            revokedAt: Date(millisecondsSince1970: row["revoked_at"] as Int64?),
            purpose: APIKey.Purpose(rawValue: row["purpose"]) ?? .publicAPI
        )
    }
}

extension TeamMember {
    init(row: Row) {
        self.init(
            id: row["id"],
            organizationID: row["organization_id"],
            name: row["name"],
            phone: PhoneNumber(trustedDigits: row["phone"]),
            email: row["email"],
            role: Role(rawValue: row["role_id"]) ?? .teamMemberAssignedChats,
            createdAt: Date(millisecondsSince1970: row["created_at"]),
            removedAt: Date(millisecondsSince1970: row["removed_at"] as Int64?),
            reportingManagerID: row["reporting_manager_id"],
            lockedUntil: Date(millisecondsSince1970: row["locked_until"] as Int64?),
            deactivatedAt: Date(millisecondsSince1970: row["deactivated_at"] as Int64?)
        )
    }
}

extension Session {
    init(row: Row) {
        self.init(
            id: row["id"],
            memberID: row["member_id"],
            organizationID: row["organization_id"],
            deviceName: row["device_name"],
            userAgent: row["user_agent"],
            ipAddress: row["ip_address"],
            createdAt: Date(millisecondsSince1970: row["created_at"]),
            expiresAt: Date(millisecondsSince1970: row["expires_at"]),
            lastSeenAt: Date(millisecondsSince1970: row["last_seen_at"] as Int64?),
            endedAt: Date(millisecondsSince1970: row["ended_at"] as Int64?),
            endReason: (row["end_reason"] as String?).flatMap(SessionEndReason.init(rawValue:)),
            revocationID: row["revocation_id"]
        )
    }
}

extension AuditEvent {
    init(row: Row) {
        self.init(
            id: row["id"],
            organizationID: row["organization_id"],
            occurredAt: Date(millisecondsSince1970: row["occurred_at"]),
            actor: row["actor"],
            action: AuditAction(rawValue: row["action"]) ?? .memberLoggedOut,
            memberID: row["member_id"],
            memberPhone: (row["member_phone"] as String?).map(PhoneNumber.init(trustedDigits:)),
            reason: row["reason"],
            sessionsEnded: row["sessions_ended"],
            revocationID: row["revocation_id"],
            requestID: row["request_id"],
            clientIP: row["client_ip"]
        )
    }

    func insert(_ db: any SQLConnection) throws {
        try Self.insert([self], db)
    }

    /// The events in one statement.
    static func insert(_ events: some Collection<AuditEvent>, _ db: any SQLConnection) throws {
        guard !events.isEmpty else { return }
        try db.execute(
            """
            INSERT INTO audit_events (id, organization_id, occurred_at, actor, action, member_id, member_phone,
                reason, sessions_ended, revocation_id, request_id, client_ip)
            VALUES \(MultiRow.placeholders(rows: events.count, columns: 12))
            """,
            events.flatMap { event -> SQLArguments in
                [
                    event.id, event.organizationID, event.occurredAt.millisecondsSince1970, event.actor, event.action.rawValue, event.memberID,
                    event.memberPhone?.digits, event.reason, event.sessionsEnded, event.revocationID, event.requestID, event.clientIP,
                ]
            }
        )
    }
}

extension TeamMember {
    func insert(_ db: any SQLConnection) throws {
        do {
            try db.execute(
                """
                INSERT INTO members (id, organization_id, name, phone, email, role_id, created_at, removed_at,
                    reporting_manager_id, locked_until, deactivated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    id, organizationID, name, phone.digits, email, role.rawValue, createdAt.millisecondsSince1970,
                    removedAt?.millisecondsSince1970, reportingManagerID, lockedUntil?.millisecondsSince1970,
                    deactivatedAt?.millisecondsSince1970,
                ]
            )
        } catch where db.isUniqueViolation(error) {
            // An Owner is only ever inserted with a new organisation, where no number is taken yet: its
            // violation can only be `members_one_owner`.
            throw role == .owner ? TeamGateError.ownerRoleCannotBeAssigned : TeamGateError.memberExists
        }
    }
}

extension NewAPIKey {
    func insert(_ db: any SQLConnection) throws {
        try db.execute(
            """
            INSERT INTO api_keys (id, organization_id, prefix, name, secret_hash, created_at, last_used_at, revoked_at, purpose)
            VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?)
            """,
            [key.id, key.organizationID, key.prefix, key.name, secretHash, key.createdAt.millisecondsSince1970, key.purpose.rawValue]
        )
    }
}

extension Webhook {
    init(row: Row) {
        let events: String = row["events"]
        self.init(
            id: row["id"],
            organizationID: row["organization_id"],
            url: URL(string: row["url"])!,
            events: events.split(separator: ",").compactMap { WebhookEvent(rawValue: String($0)) },
            secret: row["secret"],
            createdAt: Date(millisecondsSince1970: row["created_at"])
        )
    }
}

extension WebhookDelivery {
    init(row: Row) {
        self.init(
            id: row["id"],
            webhookID: row["webhook_id"],
            event: WebhookEvent(rawValue: row["event"]) ?? .sessionEnded,
            payload: row["payload"],
            state: State(rawValue: row["state"]) ?? .pending,
            attempts: row["attempts"],
            lastStatus: row["last_status"],
            lastError: row["last_error"],
            nextAttemptAt: Date(millisecondsSince1970: row["next_attempt_at"]),
            createdAt: Date(millisecondsSince1970: row["created_at"]),
            deliveredAt: Date(millisecondsSince1970: row["delivered_at"] as Int64?)
        )
    }
}
