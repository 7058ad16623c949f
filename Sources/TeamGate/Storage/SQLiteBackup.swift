import Foundation
import GRDB

/// Backing up a SQLite database while the server runs, and restoring one while it does not.
///
/// A backup is SQLite's online backup API run inside one read transaction: a consistent snapshot holding every
/// write committed before it began (a logout answered 201 was committed and fsynced before its answer) and
/// nothing after, taken without stopping the writer. A restore checks the backup (`integrity_check`, and that this
/// version of TeamGate made its schema exactly and its rows keep their foreign keys: `SQLiteBackup+Trust`), copies
/// it next to the database, fsyncs it, folds the old database's write-ahead log into its file and renames the copy
/// over it: until that rename the old database is whole and untouched, and a crash at any point leaves the old
/// database or the new one, never a mix. It refuses while a server has the database open (`ServingLock`).
public enum SQLiteBackup {
    public struct Summary: Sendable, Encodable {
        public let path: String
        public let bytes: Int
        /// The schema's migrations, oldest first.
        public let migrations: [String]
        public let members: Int
        public let liveSessions: Int
        /// Sessions `restore --end-sessions` ended; nil for a backup or a plain restore.
        public var endedSessions: Int?
    }

    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    /// Writes a backup of `databasePath` to `destination` (which must not exist yet).
    public static func backUp(databasePath: String, to destination: String) throws -> Summary {
        guard FileManager.default.fileExists(atPath: databasePath) else { throw Problem(description: "No database at \(databasePath)") }
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw Problem(description: "\(destination) already exists: a backup never overwrites a file")
        }
        let partial = destination + ".partial"
        try removeIfPresent(partial)
        do {
            // Made 0600 before SQLite opens it, whatever the caller's umask: a backup holds every key's and
            // session's hash, and SQLite gives its journal the file's own mode.
            let descriptor = open(partial, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw Problem(description: "Could not create \(partial): \(String(cString: strerror(errno)))") }
            close(descriptor)
            let source = try DatabasePool(path: databasePath, configuration: connectionConfiguration())
            let copy = try DatabaseQueue(path: partial)
            try source.backup(to: copy)
            try selfContained(copy)
            try source.close()
            try syncFile(partial)
            let summary = try check(partial)
            guard rename(partial, destination) == 0 else {
                throw Problem(description: "Could not name the backup \(destination): \(String(cString: strerror(errno)))")
            }
            try syncFolder(of: destination)
            return Summary(path: destination, bytes: summary.bytes, migrations: summary.migrations, members: summary.members, liveSessions: summary.liveSessions)
        } catch {
            try removeIfPresent(partial)
            throw error
        }
    }

    /// Replaces the database at `databasePath` with the backup at `backup`. The server must be stopped. With
    /// `endingSessions`, every session in the backup is ended in the restored copy.
    public static func restore(from backup: String, to databasePath: String, endingSessions: Bool = false, at date: Date = Date()) throws -> Summary {
        guard FileManager.default.fileExists(atPath: backup) else { throw Problem(description: "No backup at \(backup)") }
        let lock = try ServingLock(databasePath: databasePath, exclusive: true)
        defer { lock.release() }
        var checked = try check(backup, trusting: false)
        let partial = databasePath + ".restoring"
        try removeIfPresent(partial)
        do {
            let source = try DatabaseQueue(path: backup, configuration: readOnly())
            let copy = try DatabaseQueue(path: partial)
            try source.backup(to: copy)
            if endingSessions { checked.endedSessions = try endSessions(in: copy, at: date) }
            try selfContained(copy)
            try source.close()
            try syncFile(partial)
            // The old log belongs to the old database: replayed onto the new one it would corrupt it. Folded into
            // the old file first, so until the rename the old database is whole.
            do {
                try setAside(databasePath)
            } catch let problem as Problem {
                throw problem
            } catch {
                throw Problem(
                    description: "The database at \(databasePath) could not be opened to fold its log into it (\(error)); nothing was changed. "
                        + "If it is damaged, move it and its -wal and -shm files away, then restore again")
            }
            // rename(2) replaces the old file in one step.
            guard rename(partial, databasePath) == 0 else {
                throw Problem(description: "Could not put the restored copy in place: \(String(cString: strerror(errno)))")
            }
            try syncFolder(of: databasePath)
        } catch {
            try removeIfPresent(partial)
            throw error
        }
        return Summary(
            path: databasePath, bytes: checked.bytes, migrations: checked.migrations, members: checked.members,
            liveSessions: endingSessions ? 0 : checked.liveSessions, endedSessions: checked.endedSessions)
    }

    /// Opens `path` read-only and checks it is a whole TeamGate database this version can open: one whose schema
    /// TeamGate made exactly, with every foreign key kept, unless `trusting` (a backup this process just wrote).
    static func check(_ path: String, trusting: Bool = true) throws -> Summary {
        let database = try DatabaseQueue(path: path, configuration: readOnly())
        let bytes = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
        let summary = try database.read { db in
            let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check")
            guard integrity == ["ok"] else {
                throw Problem(description: "\(path) fails SQLite's integrity check: \(integrity.prefix(3).joined(separator: "; "))")
            }
            guard try db.tableExists("grdb_migrations"), try db.tableExists("sessions") else {
                throw Problem(description: "\(path) is not a TeamGate database")
            }
            let migrations = try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid")
            let known = Set(SQLStore.migrations.map(\.name))
            if let unknown = migrations.first(where: { !known.contains($0) }) {
                throw Problem(description: "\(path) comes from a newer TeamGate (migration \"\(unknown)\"): restore it with that version")
            }
            if !trusting { try checkTrusted(db, path: path, migrations: migrations) }
            let now = Date().millisecondsSince1970
            return Summary(
                path: path, bytes: bytes, migrations: migrations,
                members: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM members WHERE removed_at IS NULL") ?? 0,
                liveSessions: try Int.fetchOne(db, sql: liveSessionsCount(db), arguments: [now]) ?? 0)
        }
        try database.close()
        return summary
    }

    /// Counts the live sessions: not ended in their row, nor by an end appended as a record (a backup from before
    /// those records has none).
    private static func liveSessionsCount(_ db: Database) throws -> String {
        guard try db.tableExists("session_ends") else { return "SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL AND expires_at > ?" }
        return """
            SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL AND expires_at > ?
                AND NOT EXISTS (SELECT 1 FROM session_ends e WHERE e.session_id = sessions.id)
            """
    }

    /// Takes the copy out of WAL mode and closes it: one file, which opens read-only without a log beside it.
    /// The server puts a restored database back in WAL mode when it opens it.
    private static func selfContained(_ copy: DatabaseQueue) throws {
        try copy.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
        try copy.close()
    }

    private static func connectionConfiguration() -> Configuration {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        return configuration
    }

    private static func readOnly() -> Configuration {
        var configuration = connectionConfiguration()
        configuration.readonly = true
        return configuration
    }

    private static func removeIfPresent(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        try FileManager.default.removeItem(atPath: path)
    }

    private static func syncFile(_ path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw Problem(description: "Cannot open \(path) to sync it: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw Problem(description: "fsync of \(path) failed: \(String(cString: strerror(errno)))") }
    }

    /// Makes a rename in the folder durable.
    private static func syncFolder(of path: String) throws {
        try syncFile(URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }
}

/// Says that a server has a SQLite database open: `serve` holds a shared lock on `<database>.lock` for as long as
/// it runs, and `restore` takes it exclusively, so a restore never replaces a database under a running server
/// (whose memory would still hold the sessions of the old one). The kernel drops the lock when the process ends,
/// however it ends.
public final class ServingLock: Sendable {
    private let descriptor: Int32

    public init(databasePath: String, exclusive: Bool = false) throws {
        let path = databasePath + ".lock"
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SQLiteBackup.Problem(description: "Cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(descriptor, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 else {
            close(descriptor)
            throw SQLiteBackup.Problem(
                description: exclusive
                    ? "A TeamGate server is running on \(databasePath): stop it before restoring"
                    : "\(databasePath) is being restored: start the server once the restore is done")
        }
    }

    public func release() {
        close(descriptor)
    }
}
