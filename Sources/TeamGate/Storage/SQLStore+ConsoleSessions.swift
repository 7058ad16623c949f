import Foundation
import GRDB

extension SQLStore: ConsoleSessionStore {
    public func consoleSession(tokenHash: Data, at date: Date) async throws -> ConsoleSessionRecord? {
        try await readWithEnds { [pendingEnds] db -> ConsoleSessionRecord? in
            guard
                let row = try db.row(
                    """
                    SELECT s.id, s.member_id, s.created_at, s.expires_at, s.console_used_at, s.code_confirmed_at, o.name AS organization_name
                    FROM sessions s JOIN members m ON m.id = s.member_id JOIN organizations o ON o.id = s.organization_id
                    WHERE s.token_hash = ? AND s.kind = 'console' AND s.ended_at IS NULL AND s.expires_at > ? AND m.removed_at IS NULL AND m.deactivated_at IS NULL
                    """,
                    [tokenHash, date.millisecondsSince1970]),
                pendingEnds.end(ofSession: row["id"]) == nil,
                let memberRow = try db.row("SELECT * FROM members WHERE id = ?", [row["member_id"] as String])
            else { return nil }
            let createdAt = Date(millisecondsSince1970: row["created_at"] as Int64)
            return ConsoleSessionRecord(
                live: LiveSession(
                    sessionID: row["id"], expiresAt: Date(millisecondsSince1970: row["expires_at"] as Int64), member: TeamMember(row: memberRow),
                    organizationName: row["organization_name"]),
                createdAt: createdAt,
                lastUsedAt: Date(millisecondsSince1970: row["console_used_at"] as Int64?) ?? createdAt,
                codeConfirmedAt: Date(millisecondsSince1970: row["code_confirmed_at"] as Int64?) ?? createdAt)
        }
    }
}

extension SQLUnitOfWork {
    func makeConsoleSession(id: String, tokenHash: Data, expiresAt: Date, at date: Date) throws -> Bool {
        guard !endedHere.contains(id), pendingEnds.end(ofSession: id) == nil else { return false }
        let now = date.millisecondsSince1970
        let latest = expiresAt.millisecondsSince1970
        let made = try db.row(
            """
            UPDATE sessions SET kind = 'console', console_used_at = ?, code_confirmed_at = ?,
                expires_at = CASE WHEN expires_at < ? THEN expires_at ELSE ? END
            WHERE id = ? AND token_hash = ? AND kind = 'device' AND ended_at IS NULL AND expires_at > ? AND \(unseenEnds.noEnd(of: "sessions"))
            RETURNING id
            """,
            [now, now, latest, latest, id, tokenHash, now, unseenEnds.bound])
        guard made != nil else { return false }
        changes.madeConsoleSessions.append(tokenHash)
        return true
    }

    func recordConsoleUse(id: String, at date: Date) throws {
        try db.execute("UPDATE sessions SET console_used_at = ? WHERE id = ? AND kind = 'console'", [date.millisecondsSince1970, id])
    }
}

extension SQLStore {
    public func sessionSummaries(organizationID: String, memberIDs: [String], at date: Date) async throws -> [String: SessionSummary] {
        guard !memberIDs.isEmpty else { return [:] }
        return try await readWithEnds { [pendingEnds] db in
            var summaries: [String: SessionSummary] = [:]
            for chunk in MultiRow.chunks(memberIDs) {
                let arguments: SQLArguments = [date.millisecondsSince1970, organizationID] + chunk.map { $0 }
                try db.forEachRow(
                    """
                    SELECT member_id, SUM(CASE WHEN ended_at IS NULL AND expires_at > ? THEN 1 ELSE 0 END) AS live,
                        MAX(COALESCE(last_seen_at, created_at)) AS last_seen
                    FROM sessions WHERE organization_id = ? AND member_id IN (\(MultiRow.values("?", count: chunk.count))) GROUP BY member_id
                    """,
                    arguments
                ) { row in
                    summaries[row["member_id"]] = SessionSummary(
                        live: Int(row["live"] as Int64), lastSeen: Date(millisecondsSince1970: row["last_seen"] as Int64?))
                }
            }
            return summaries.subtracting(pendingEnds.endedUnexpired(organizationID: organizationID, at: date.millisecondsSince1970))
        }
    }

    public func sessions(memberID: String, before cursor: String?, limit: Int) async throws -> [Session]? {
        try await readWithEnds { [pendingEnds] db -> [Session]? in
            guard let cursor else {
                return pendingEnds.apply(
                    to: try db.rows("SELECT * FROM sessions WHERE member_id = ? ORDER BY created_at DESC, id DESC LIMIT ?", [memberID, limit])
                        .map(Session.init(row:)))
            }
            guard let mark = try db.row("SELECT created_at FROM sessions WHERE id = ? AND member_id = ?", [cursor, memberID]) else { return nil }
            let createdAt: Int64 = mark["created_at"]
            return pendingEnds.apply(
                to: try db.rows(
                    """
                    SELECT * FROM sessions WHERE member_id = ? AND (created_at < ? OR (created_at = ? AND id < ?))
                    ORDER BY created_at DESC, id DESC LIMIT ?
                    """,
                    [memberID, createdAt, createdAt, cursor, limit]
                ).map(Session.init(row:)))
        }
    }
}
