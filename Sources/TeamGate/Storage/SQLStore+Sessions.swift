import Foundation
import GRDB

extension SQLStore: SessionStore {
    public func insertSession(_ session: Session, tokenHash: Data, origin: RequestOrigin) async throws {
        _ = try await writer.write(
            { db -> (LiveSession, epoch: Int64) in
                let epoch = try IndexEpoch.current(db)
                // The member is read in the same transaction, so a session is never made for a removed member.
                guard
                    let row = try db.row(
                        """
                        SELECT m.*, o.name AS organization_name FROM members m JOIN organizations o ON o.id = m.organization_id
                        WHERE m.id = ? AND m.removed_at IS NULL
                        """,
                        [session.memberID]
                    )
                else { throw TeamGateError.notATeamMember }
                let member = TeamMember(row: row)
                // And its lock: a lockout committed after the sign-in's first look still keeps the session out.
                if member.isLocked(at: session.createdAt), let until = member.lockedUntil { throw TeamGateError.memberLocked(until: until) }
                try db.execute(
                    """
                    INSERT INTO sessions (id, member_id, organization_id, token_hash, device_name, user_agent, ip_address,
                        created_at, expires_at, last_seen_at, ended_at, end_reason, revocation_id)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL)
                    """,
                    [
                        session.id, session.memberID, member.organizationID, tokenHash, session.deviceName, session.userAgent,
                        session.ipAddress, session.createdAt.millisecondsSince1970, session.expiresAt.millisecondsSince1970,
                    ]
                )
                try AuditEvent.make(
                    .memberSignedIn, organizationID: member.organizationID, at: session.createdAt, origin: origin, member: member,
                    reason: session.deviceName
                ).insert(db)
                let live = LiveSession(
                    sessionID: session.id, expiresAt: session.expiresAt, member: member, organizationName: row["organization_name"]
                )
                return (live, epoch)
            },
            afterCommit: { [self] outcome in remember(tokenHash: tokenHash, outcome.0, readAtEpoch: outcome.epoch) }
        )
    }

    public func liveSession(tokenHash: Data, at date: Date) async throws -> LiveSession? {
        // Where other instances write too, first make sure the index has every change committed before now.
        if let peers { try await peers.catchUp() }
        return index.lookup(tokenHash: tokenHash, at: date)
    }

    /// Puts a session the writer found live into the index, unless another instance changed the index
    /// since this transaction read it (then the next request reads the disk again).
    private func remember(tokenHash: Data, _ live: LiveSession, readAtEpoch epoch: Int64) {
        if let peers {
            peers.insert(tokenHash: tokenHash, live, readAtEpoch: epoch)
        } else {
            index.insert(tokenHash: tokenHash, live)
        }
    }

    public func loadSession(tokenHash: Data, at date: Date) async throws -> SessionLookup {
        // Unknown and ended tokens are answered from a read connection: a flood of made-up tokens never
        // waits in line with the logouts. Only a live session the index lacks (another process's) is read
        // again through the writer, ordered with revocations, before the index adopts it.
        let seen = try await backend.read { db in try Self.lookUpSession(db, tokenHash: tokenHash, at: date) }
        guard case .live = seen else { return seen }
        return try await writer.write(
            { db -> (SessionLookup, epoch: Int64) in
                let epoch = try IndexEpoch.current(db)
                return (try Self.lookUpSession(db, tokenHash: tokenHash, at: date), epoch)
            },
            afterCommit: { [self] outcome in
                if case .live(let live) = outcome.0 { remember(tokenHash: tokenHash, live, readAtEpoch: outcome.epoch) }
            }
        ).0
    }

    private static func lookUpSession(_ db: any SQLConnection, tokenHash: Data, at date: Date) throws -> SessionLookup {
        guard
            let row = try db.row(
                """
                SELECT s.*, m.removed_at AS member_removed_at, o.name AS organization_name FROM sessions s
                JOIN members m ON m.id = s.member_id JOIN organizations o ON o.id = s.organization_id
                WHERE s.token_hash = ?
                """,
                [tokenHash]
            )
        else { return .unknown }
        let session = Session(row: row)
        guard session.isLive(at: date), (row["member_removed_at"] as Int64?) == nil else { return .ended(session) }
        guard let memberRow = try db.row("SELECT * FROM members WHERE id = ?", [session.memberID]) else { return .unknown }
        return .live(
            LiveSession(
                sessionID: session.id, expiresAt: session.expiresAt, member: TeamMember(row: memberRow), organizationName: row["organization_name"]))
    }

    public func sessions(memberID: String) async throws -> [Session] {
        try await backend.read { db in
            try db.rows("SELECT * FROM sessions WHERE member_id = ? ORDER BY created_at, id", [memberID])
                .map(Session.init(row:))
        }
    }

    public func sessionSummaries(organizationID: String, at date: Date) async throws -> [String: SessionSummary] {
        try await backend.read { db in
            var summaries: [String: SessionSummary] = [:]
            try db.forEachRow(
                """
                SELECT member_id, SUM(CASE WHEN ended_at IS NULL AND expires_at > ? THEN 1 ELSE 0 END) AS live,
                    MAX(COALESCE(last_seen_at, created_at)) AS last_seen
                FROM sessions WHERE organization_id = ? GROUP BY member_id
                """,
                [date.millisecondsSince1970, organizationID]
            ) { row in
                summaries[row["member_id"]] = SessionSummary(
                    live: Int(row["live"] as Int64), lastSeen: Date(millisecondsSince1970: row["last_seen"] as Int64?))
            }
            return summaries
        }
    }

    /// What the logout transaction found. Refusals are returned, not thrown, so that the key's
    /// `last_used_at` is committed even when the number is not a member.
    private enum LogoutOutcome: Sendable {
        case invalidKey
        case notAMember
        case ended(EndedMemberSessions, sessions: [SessionIndex.Ended])
    }

    public func endMemberSessions(_ command: EndMemberSessionsCommand) async throws -> EndedMemberSessions {
        let outcome = try await writer.write(
            { db -> LogoutOutcome in
                let at = command.at.millisecondsSince1970
                let organizationID: String
                let actor: String
                switch command.authority {
                case .apiKey(let secretHash):
                    // Found and its use recorded in one statement: a revoked or unknown key matches no row.
                    guard
                        let keyRow = try db.row(
                            "UPDATE api_keys SET last_used_at = ? WHERE secret_hash = ? AND revoked_at IS NULL RETURNING *", [at, secretHash])
                    else { return .invalidKey }
                    let key = APIKey(row: keyRow)
                    organizationID = key.organizationID
                    actor = key.actorLabel
                case .admin(let id, let admin):
                    organizationID = id
                    actor = admin
                }
                guard
                    let memberRow = try db.row(
                        "SELECT * FROM members WHERE organization_id = ? AND phone = ? AND removed_at IS NULL",
                        [organizationID, command.phone.digits])
                else { return .notAMember }
                let member = TeamMember(row: memberRow)
                let endedSessions = try Self.endLiveSessions(
                    db, memberID: member.id, reason: command.reason, at: at, revocationID: command.revocationID)
                let origin = RequestOrigin(actor: actor, requestID: command.requestID, clientIP: command.clientIP)
                try AuditEvent.make(
                    .memberLoggedOut, organizationID: organizationID, at: command.at, origin: origin, member: member,
                    reason: command.note, sessionsEnded: endedSessions.count, revocationID: command.revocationID
                ).insert(db)
                var data = member.webhookData
                data["sessionsEnded"] = .int(endedSessions.count)
                data["revocationId"] = .string(command.revocationID)
                data["reason"] = .optional(command.note)
                try WebhookOutbox.enqueue(db, organizationID: organizationID, event: .teamMemberLoggedOut, data: data, at: command.at)
                if let lockUntil = command.lockUntil {
                    try db.execute("UPDATE members SET locked_until = ? WHERE id = ?", [lockUntil.millisecondsSince1970, member.id])
                    try AuditEvent.make(
                        .memberLocked, organizationID: organizationID, at: command.at, origin: origin, member: member,
                        reason: "until \(lockUntil.formatted(.iso8601))" + (command.note.map { ": \($0)" } ?? ""),
                        revocationID: command.revocationID
                    ).insert(db)
                    data["lockedUntil"] = .string(lockUntil.formatted(.iso8601))
                    try WebhookOutbox.enqueue(db, organizationID: organizationID, event: .teamMemberLocked, data: data, at: command.at)
                }
                let ended = EndedMemberSessions(member: member, sessionsEnded: endedSessions.count, revocationID: command.revocationID)
                return .ended(ended, sessions: endedSessions)
            },
            afterCommit: { [index] outcome in
                if case .ended(_, let sessions) = outcome { index.end(sessions) }
            }
        )
        switch outcome {
        case .invalidKey: throw TeamGateError.invalidAPIKey
        case .notAMember: throw TeamGateError.notATeamMember
        case .ended(let ended, _): return ended
        }
    }

    public func endSession(tokenHash: Data, reason: SessionEndReason, at date: Date, origin: RequestOrigin) async throws -> Bool {
        try await writer.write(
            { db -> SessionIndex.Ended? in
                guard
                    let row = try db.row(
                        """
                        SELECT m.*, s.id AS session_id FROM sessions s JOIN members m ON m.id = s.member_id
                        WHERE s.token_hash = ? AND s.ended_at IS NULL
                        """,
                        [tokenHash]
                    )
                else { return nil }
                let member = TeamMember(row: row)
                let epoch = try IndexEpoch.advance(db)
                try db.execute(
                    "UPDATE sessions SET ended_at = ?, end_reason = ?, end_epoch = ? WHERE token_hash = ?",
                    [date.millisecondsSince1970, reason.rawValue, epoch, tokenHash]
                )
                try AuditEvent.make(
                    .memberSignedOut, organizationID: member.organizationID, at: date, origin: origin, member: member, sessionsEnded: 1
                )
                .insert(db)
                return SessionIndex.Ended(tokenHash: tokenHash, sessionID: row["session_id"], reason: reason, revocationID: nil)
            },
            afterCommit: { [index] ended in
                if let ended { index.end([ended]) }
            }
        ) != nil
    }
}
