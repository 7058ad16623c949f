import Foundation
import GRDB

extension SQLStore: TransactionStore {
    public func perform<Value: Sendable>(_ work: @escaping @Sendable (any UnitOfWork) throws -> Value) async throws -> Committed<Value> {
        let (value, changes) = try await writer.write(
            { [self] db -> (Value, SQLUnitOfWork.IndexChanges) in
                // A fresh unit per run: a batch retried with savepoints runs `work` again from scratch.
                let unit = makeUnit(db)
                let value = try work(unit)
                return (value, unit.changes)
            },
            afterCommit: { [self] outcome in apply(outcome.1) }
        )
        return Committed(value: value, endedSessions: changes.ended)
    }

    public func perform<Input: Sendable, Output: Sendable>(
        _ input: Input, sharing kind: SharedUnitOfWork<Input, Output>
    ) async throws -> Committed<Output> {
        try await writer.write(input, sharing: kind.name) { [self] db, inputs in
            let unit = makeUnit(db)
            let results = try kind.work(unit, inputs)
            let changes = unit.changes
            return (results.map { Committed(value: $0.output, endedSessions: $0.endedSessions) }, { self.apply(changes) })
        }
    }

    public var writeFailure: StoreFailure? { writer.failure }

    public func probeWrite() async throws {
        if writer.failure == .full, !backend.hasRoomToWrite { throw StoreFailure.full }
        try await writer.write { db in try db.execute("UPDATE index_epoch SET value = value WHERE id = 1", []) }
    }

    public var fatalWriteFailures: AsyncStream<StoreFailure> { writer.fatalFailures }

    public func observeSessionsEndedElsewhere(_ observer: @escaping @Sendable ([EndedSession]) -> Void) {
        peers?.observeEndedSessions(observer)
    }

    /// A unit of work on the writer's transaction, which knows this instance's pending ends, and where other
    /// instances share the database, the epoch above which theirs may not have reached it yet.
    func makeUnit(_ db: any SQLConnection) -> SQLUnitOfWork {
        SQLUnitOfWork(db: db, pendingEnds: pendingEnds, unseenEnds: unseenEnds)
    }

    /// What a statement must read of `session_ends` itself, at this moment (`UnseenEnds`).
    var unseenEnds: UnseenEnds {
        if let peers { return UnseenEnds(column: "epoch", bound: peers.appliedEpoch) }
        return UnseenEnds(column: "seq", bound: pendingEnds.lastSeq)
    }

    /// The index follows a commit before the next one starts, so it is never behind this instance's writes; the
    /// pending ends first, so that no reader finds the session in neither.
    private func apply(_ changes: SQLUnitOfWork.IndexChanges) {
        pendingEnds.add(changes.pendingEnds)
        index.remove(tokenHashes: changes.ended.map(\.tokenHash) + changes.madeConsoleSessions)
        for member in changes.members { index.updateMember(member) }
        for opened in changes.sessions { remember(tokenHash: opened.tokenHash, opened.live, readAtEpoch: changes.readEpoch) }
    }
}

/// A unit of work on one transaction of the store's writer. Besides writing, it collects what the
/// in-memory index must learn once the transaction commits.
final class SQLUnitOfWork: UnitOfWork {
    struct OpenedSession: Sendable {
        let tokenHash: Data
        let live: LiveSession
    }

    struct IndexChanges: Sendable {
        var ended: [EndedSession] = []
        /// The end records appended, for `PendingSessionEnds` once they commit.
        var pendingEnds: [PendingSessionEnds.End] = []
        var members: [TeamMember] = []
        var sessions: [OpenedSession] = []
        /// Token hashes of sessions that became console sessions: no longer a device's.
        var madeConsoleSessions: [Data] = []
        /// The epoch at which this transaction read what its new sessions rest on.
        var readEpoch: Int64 = 0
    }

    let db: any SQLConnection
    let pendingEnds: PendingSessionEnds
    /// The ends not in `pendingEnds` when the unit began: its transaction's own, other instances' not yet applied.
    let unseenEnds: UnseenEnds
    /// Written by this unit's primitives only (here and in `SQLStore+SessionEnds`).
    var changes = IndexChanges()
    /// Sessions this unit ended, which its later reads must see ended too.
    var endedHere = Set<String>()
    /// Organisations this transaction found without any webhook, as it read a member of theirs: their
    /// messages need no further read (one statement fewer per logout).
    private var organizationsWithoutWebhooks: Set<String> = []

    init(db: any SQLConnection, pendingEnds: PendingSessionEnds, unseenEnds: UnseenEnds) {
        self.db = db
        self.pendingEnds = pendingEnds
        self.unseenEnds = unseenEnds
    }

    func insertOrganization(_ organization: Organization) throws {
        try db.execute(
            "INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)",
            [organization.id, organization.name, organization.createdAt.millisecondsSince1970])
    }

    func insertAPIKey(_ newKey: NewAPIKey) throws {
        try newKey.insert(db)
    }

    func liveAPIKey(id: String) throws -> APIKey? {
        try db.row("SELECT * FROM api_keys WHERE id = ? AND revoked_at IS NULL", [id]).map(APIKey.init(row:))
    }

    func apiKey(idOrPrefix: String, organizationID: String) throws -> APIKey? {
        try db.row("SELECT * FROM api_keys WHERE organization_id = ? AND (id = ? OR prefix = ?)", [organizationID, idOrPrefix, idOrPrefix])
            .map(APIKey.init(row:))
    }

    func revokeAPIKey(id: String, at date: Date) throws {
        try db.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [date.millisecondsSince1970, id])
    }

    func recordAPIKeyUse(id: String, at date: Date) throws {
        try db.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", [date.millisecondsSince1970, id])
    }

    func activeMember(organizationID: String, phone: PhoneNumber) throws -> TeamMember? {
        try activeMembers([MemberAsk(organizationID: organizationID, phone: phone, keyID: nil)])[0].member
    }

    /// One statement for all the asks: each key's state, each member, and whether each organisation has a
    /// webhook (remembered, so its messages need no further read).
    func activeMembers(_ asks: [MemberAsk]) throws -> [(keyIsLive: Bool, member: TeamMember?)] {
        var found = [(keyIsLive: Bool, member: TeamMember?)](repeating: (false, nil), count: asks.count)
        for chunk in MultiRow.chunks(asks) {
            var arguments: SQLArguments = []
            for (offset, ask) in zip(chunk.indices, chunk) { arguments += [Int64(offset), ask.organizationID, ask.phone.digits, ask.keyID] }
            // Through the statement cache (`rows`), unlike a cursor: one compiled statement per batch size.
            for row in try db.rows(
                """
                WITH asked(position, organization_id, phone, key_id) AS (VALUES \(MultiRow.placeholders(rows: chunk.count, columns: 4)))
                SELECT asked.position,
                    (SELECT COUNT(*) FROM api_keys k WHERE k.id = asked.key_id AND k.revoked_at IS NULL) AS live_keys, m.*,
                    EXISTS (SELECT 1 FROM webhooks w WHERE w.organization_id = asked.organization_id AND w.deleted_at IS NULL)
                        AS organization_has_webhooks
                FROM asked LEFT JOIN members m ON m.organization_id = asked.organization_id AND m.phone = asked.phone AND m.removed_at IS NULL
                """,
                arguments
            ) {
                let position = Int(row["position"] as Int64)
                let member = (row["id"] as String?).map { _ in TeamMember(row: row) }
                if let member, (row["organization_has_webhooks"] as Int64) == 0 { organizationsWithoutWebhooks.insert(member.organizationID) }
                found[position] = ((row["live_keys"] as Int64) > 0, member)
            }
        }
        return found
    }

    func activeMember(id: String) throws -> (member: TeamMember, organizationName: String)? {
        changes.readEpoch = try IndexEpoch.current(db)
        return try db.row(
            """
            SELECT m.*, o.name AS organization_name FROM members m JOIN organizations o ON o.id = m.organization_id
            WHERE m.id = ? AND m.removed_at IS NULL AND m.deactivated_at IS NULL
            """,
            [id]
        ).map { (TeamMember(row: $0), $0["organization_name"]) }
    }

    func insertMember(_ member: TeamMember) throws {
        try member.insert(db)
    }

    func markRemoved(memberID: String, at date: Date) throws {
        try db.execute("UPDATE members SET removed_at = ? WHERE id = ?", [date.millisecondsSince1970, memberID])
        // A removed member leaves the directory too: its userName is free again, and SCIM answers 404 for them.
        try db.execute("DELETE FROM scim_users WHERE member_id = ?", [memberID])
    }

    func updateRole(of member: TeamMember) throws {
        let epoch = try IndexEpoch.advance(db)
        do {
            try db.execute("UPDATE members SET role_id = ?, change_epoch = ? WHERE id = ?", [member.role.rawValue, epoch, member.id])
        } catch where db.isUniqueViolation(error) {
            throw TeamGateError.ownerRoleCannotBeAssigned  // `members_one_owner`: the organisation has its Owner
        }
        changes.members.append(member)
    }

    func setLock(memberID: String, until date: Date?) throws {
        try db.execute("UPDATE members SET locked_until = ? WHERE id = ?", [date?.millisecondsSince1970, memberID])
    }

    func insertSession(_ session: Session, tokenHash: Data, live: LiveSession) throws {
        try db.execute(
            """
            INSERT INTO sessions (id, member_id, organization_id, token_hash, device_name, user_agent, ip_address,
                created_at, expires_at, last_seen_at, ended_at, end_reason, revocation_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL)
            """,
            [
                session.id, session.memberID, session.organizationID, tokenHash, session.deviceName, session.userAgent,
                session.ipAddress, session.createdAt.millisecondsSince1970, session.expiresAt.millisecondsSince1970,
            ]
        )
        changes.sessions.append(OpenedSession(tokenHash: tokenHash, live: live))
    }

    func session(id: String, organizationID: String) throws -> (session: Session, member: TeamMember)? {
        guard
            let row = try db.row(
                "SELECT s.*, \(UnseenEnds.columns) FROM sessions s \(unseenEnds.join(to: "s")) WHERE s.id = ? AND s.organization_id = ?",
                [unseenEnds.bound, id, organizationID])
        else { return nil }
        let session = Session(row: row).ended(by: pendingEnds.end(ofSession: id)).ended(byJoined: row)
        guard let member = try db.row("SELECT * FROM members WHERE id = ?", [session.memberID]).map(TeamMember.init(row:)) else { return nil }
        return (session, member)
    }

    func appendAudit(_ event: AuditEvent) throws {
        try event.insert(db)
    }

    func appendAudits(_ events: [AuditEvent]) throws {
        for chunk in MultiRow.chunks(events) { try AuditEvent.insert(chunk, db) }
    }

    func enqueueWebhook(_ message: WebhookMessage) throws {
        guard !organizationsWithoutWebhooks.contains(message.organizationID) else { return }
        let hooks = try db.rows("SELECT id, events FROM webhooks WHERE organization_id = ? AND deleted_at IS NULL", [message.organizationID])
        let at = message.at.millisecondsSince1970
        for hook in hooks {
            let events: String = hook["events"]
            guard events.split(separator: ",").contains(Substring(message.event.rawValue)) else { continue }
            let id = SecretToken.identifier(prefix: "dlv_")
            try db.execute(
                """
                INSERT INTO webhook_deliveries (id, webhook_id, organization_id, event, payload, state, attempts, next_attempt_at, created_at)
                VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)
                """,
                [id, hook["id"] as String, message.organizationID, message.event.rawValue, message.payload(deliveryID: id), at, at]
            )
        }
    }

    func insertWebhook(_ webhook: Webhook) throws {
        try db.execute(
            "INSERT INTO webhooks (id, organization_id, url, events, secret, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [
                webhook.id, webhook.organizationID, webhook.url.absoluteString, webhook.events.map(\.rawValue).joined(separator: ","),
                webhook.secret, webhook.createdAt.millisecondsSince1970,
            ]
        )
    }

    func deleteWebhook(id: String, organizationID: String, at date: Date, dropReason: String) throws -> Bool {
        let deleted = try db.rows(
            "UPDATE webhooks SET deleted_at = ? WHERE id = ? AND organization_id = ? AND deleted_at IS NULL RETURNING id",
            [date.millisecondsSince1970, id, organizationID])
        guard !deleted.isEmpty else { return false }
        try db.execute("UPDATE webhook_deliveries SET state = 'failed', last_error = ? WHERE webhook_id = ? AND state = 'pending'", [dropReason, id])
        return true
    }
}
