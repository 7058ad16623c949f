import Foundation
import GRDB

/// The embedded store: one SQLite file in WAL mode, one group-committing writer, readers in parallel.
///
/// Durability: by default `synchronous = FULL`, so the WAL is fsynced at every commit: a write that was
/// answered survives a process crash and a power loss; group commit shares each fsync among the writes
/// that arrived together. `NORMAL` fsyncs only at checkpoints: an answered write then survives a process
/// crash but not a power loss.
public final class SQLiteStore: Sendable {
    let pool: DatabasePool
    let writer: GroupCommitWriter
    let index = SessionIndex()

    public enum Synchronous: String, Sendable, CaseIterable {
        case full = "FULL"
        case normal = "NORMAL"
    }

    /// Opens (creating if needed) the database at `path`, migrates it, and loads the live sessions.
    public init(path: String, synchronous: Synchronous = .full) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous.rawValue)")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
        self.pool = pool
        self.writer = GroupCommitWriter(pool: pool)
        try reloadSessionIndex(at: Date())
    }

    /// Rebuilds the session index from disk (at start-up).
    func reloadSessionIndex(at date: Date) throws {
        let entries = try pool.read { db in
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT s.token_hash, s.id AS session_id, s.expires_at AS session_expires_at, o.name AS organization_name, m.*
                    FROM sessions s
                    JOIN members m ON m.id = s.member_id
                    JOIN organizations o ON o.id = s.organization_id
                    WHERE s.ended_at IS NULL AND s.expires_at > ? AND m.removed_at IS NULL
                    ORDER BY s.member_id
                    """,
                arguments: [date.millisecondsSince1970]
            )
            var entries: [SessionIndex.TokenKey: LiveSession] = [:]
            // One value per member and organisation name, shared by all their sessions: a member's strings
            // are then stored once however many devices they use.
            var members: [String: TeamMember] = [:]
            var organizationNames: [String: String] = [:]
            while let row = try rows.next() {
                let hash: Data = row["token_hash"]
                let memberID: String = row["id"]
                let member = members[memberID] ?? TeamMember(row: row)
                members[memberID] = member
                let organizationName = organizationNames[member.organizationID] ?? row["organization_name"]
                organizationNames[member.organizationID] = organizationName
                entries[SessionIndex.TokenKey(hash)] = LiveSession(
                    sessionID: row["session_id"],
                    expiresAt: Date(millisecondsSince1970: row["session_expires_at"]),
                    member: member,
                    organizationName: organizationName
                )
            }
            return entries
        }
        index.replaceAll(with: entries)
    }

    /// How many sessions the in-memory index holds.
    public var liveSessionCount: Int { index.count }
}

extension Date {
    /// Stored times are integer milliseconds since 1970 (UTC): exact, sortable, and the same in PostgreSQL.
    var millisecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }

    init(millisecondsSince1970 milliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    init?(millisecondsSince1970 milliseconds: Int64?) {
        guard let milliseconds else { return nil }
        self.init(millisecondsSince1970: milliseconds)
    }
}
