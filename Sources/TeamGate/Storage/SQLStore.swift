import Foundation
import GRDB
import Logging
import ServiceLifecycle

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
            store.peers?.loaded(atEpoch: epoch)
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

    /// Lets the writer commit what it was given, then closes the database connections. Writes after it fail.
    public func close() async {
        await writer.finish()
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

/// The store's part of the service group. Where instances share a database it follows the others' changes
/// (for connected devices; requests catch up by themselves); on graceful shutdown, which comes after the
/// server has finished its requests and the other services have stopped, it lets the writer commit what
/// it holds and closes the database.
extension SQLStore: Service {
    public func run() async throws {
        if let peers {
            await cancelWhenGracefulShutdown { await peers.follow() }
        } else {
            do {
                try await gracefulShutdown()
            } catch is CancellationError {
                // Cancelled rather than shut down gracefully: the writer is let finish all the same.
            }
        }
        await close()
    }
}

extension SQLStore: CustomStringConvertible {
    public var description: String { "SQLStore" }
}
