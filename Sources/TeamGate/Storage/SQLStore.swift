import Foundation
import GRDB
import Logging

/// The store: the same statements over SQLite (one process owns the file) or PostgreSQL (several
/// instances share the database), one group-committing writer, and the in-memory index of live sessions.
public final class SQLStore: Sendable {
    let backend: any SQLBackend
    let writer: GroupCommitWriter
    let index = SessionIndex()
    /// Set when other instances share the database: keeps the index in step with their writes.
    let peers: PeerIndexSync?

    public enum Synchronous: String, Sendable, CaseIterable {
        case full = "FULL"
        case normal = "NORMAL"
    }

    /// Opens (creating if needed) the SQLite database at `path`, migrates it, and loads the live sessions.
    public convenience init(sqlitePath path: String, synchronous: Synchronous = .full) throws {
        let backend = try SQLiteBackend(path: path, synchronous: synchronous)
        self.init(backend: backend)
        index.replaceAll(with: try backend.pool.read { db in try Self.liveSessions(SQLiteConnection(db: db), at: Date()) })
    }

    /// Connects to PostgreSQL at `url`, migrates it, loads the live sessions and starts following the
    /// other instances' changes, over at most `poolSize` connections. `close()` ends the connections.
    public static func postgres(url: PostgresURL, poolSize: Int, logger: Logger) async throws -> SQLStore {
        let backend = try await PostgresBackend.connect(url: url, poolSize: poolSize, logger: logger)
        let store = SQLStore(backend: backend, peers: { PeerIndexSync(backend: backend, index: $0, logger: logger) })
        do {
            // The epoch is read first: whatever changes after it is numbered above it, and caught up.
            let (epoch, entries) = try await backend.read { db in (try IndexEpoch.current(db), try Self.liveSessions(db, at: Date())) }
            store.index.replaceAll(with: entries)
            store.peers?.start(appliedEpoch: epoch)
        } catch {
            await store.close()
            throw error
        }
        return store
    }

    init(backend: any SQLBackend, peers: (SessionIndex) -> PeerIndexSync? = { _ in nil }) {
        self.backend = backend
        self.writer = GroupCommitWriter(backend: backend)
        self.peers = peers(index)
    }

    /// Stops following other instances and closes the database connections.
    public func close() async {
        peers?.stop()
        await backend.close()
    }

    /// Every live session, keyed for the index.
    static func liveSessions(_ db: any SQLConnection, at date: Date) throws -> [SessionIndex.TokenKey: LiveSession] {
        var entries: [SessionIndex.TokenKey: LiveSession] = [:]
        // One value per member and organisation name, shared by all their sessions: a member's strings
        // are then stored once however many devices they use.
        var members: [String: TeamMember] = [:]
        var organizationNames: [String: String] = [:]
        try db.forEachRow(
            """
            SELECT s.token_hash, s.id AS session_id, s.expires_at AS session_expires_at, o.name AS organization_name, m.*
            FROM sessions s
            JOIN members m ON m.id = s.member_id
            JOIN organizations o ON o.id = s.organization_id
            WHERE s.ended_at IS NULL AND s.expires_at > ? AND m.removed_at IS NULL
            ORDER BY s.member_id
            """,
            [date.millisecondsSince1970]
        ) { row in
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
