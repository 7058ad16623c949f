import Foundation
import GRDB

/// What a restore checks beyond SQLite's integrity before it trusts a backup: a file can be a whole, valid SQLite
/// database and still not be one TeamGate wrote. A trigger added to it (`AFTER UPDATE ON sessions … SET ended_at
/// = NULL`) would revive every session a logout ends; a dropped index or column breaks a query; a row pointing at
/// a member who is not there breaks the rules that rest on it.
extension SQLiteBackup {
    /// The schema, exactly: every table, column, index, trigger and view, as SQLite keeps their definitions.
    struct SchemaObject: Equatable, CustomStringConvertible {
        let type: String
        let name: String
        let table: String
        let definition: String

        var description: String { "\(type) \(name)" }
    }

    /// Refuses a backup whose schema is not exactly what its migrations make, or whose rows break a foreign key.
    static func checkTrusted(_ db: Database, path: String, migrations: [String]) throws {
        let expected = try schema(afterMigrations: migrations)
        let found = try schema(db)
        if found != expected {
            let unexpected = found.filter { !expected.contains($0) }
            let missing = expected.filter { !found.contains($0) }
            var differences: [String] = []
            if !unexpected.isEmpty { differences.append("not made by TeamGate: \(unexpected.map(\.description).joined(separator: ", "))") }
            if !missing.isEmpty { differences.append("missing or changed: \(missing.map(\.description).joined(separator: ", "))") }
            throw Problem(description: "\(path) has a schema TeamGate did not make (\(differences.joined(separator: "; "))): it is not restored")
        }
        let broken = try Row.fetchAll(db, sql: "PRAGMA foreign_key_check")
        if let first = broken.first {
            let table: String = first[0]
            throw Problem(
                description: "\(path) has \(broken.count) row(s) pointing at rows that are not there (first in \(table)): it is not restored")
        }
    }

    /// The schema of a fresh database after `migrations`, which must be the first of TeamGate's, in order.
    private static func schema(afterMigrations migrations: [String]) throws -> [SchemaObject] {
        let known = SQLStore.migrations.map(\.name)
        guard migrations == Array(known.prefix(migrations.count)) else {
            throw Problem(description: "The backup's migrations are not TeamGate's, in TeamGate's order: it is not restored")
        }
        let reference = try DatabaseQueue()
        var migrator = DatabaseMigrator()
        for migration in SQLStore.migrations.prefix(migrations.count) {
            migrator.registerMigration(migration.name) { db in try db.execute(sql: migration.sql) }
        }
        try migrator.migrate(reference)
        return try reference.read(schema)
    }

    private static func schema(_ db: Database) throws -> [SchemaObject] {
        try Row.fetchAll(db, sql: "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").map { row in
            let definition: String? = row["sql"]
            return SchemaObject(
                type: row["type"], name: row["name"], table: row["tbl_name"],
                definition: (definition ?? "").split(whereSeparator: \.isWhitespace).joined(separator: " "))
        }
    }

    /// Ends every session the copy holds (`restore --end-sessions`): sessions revoked after the backup was taken
    /// would otherwise be live again. Their devices sign in again. Returns how many it ended.
    static func endSessions(in copy: DatabaseQueue, at date: Date) throws -> Int {
        try copy.write { db in
            // Ends appended as records are folded in first: those sessions keep their own end, and are not counted.
            if try db.tableExists("session_ends") { _ = try SQLStore.fold(SQLiteConnection(db: db), limit: nil) }
            try db.execute(
                sql: "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE ended_at IS NULL",
                arguments: [date.millisecondsSince1970, SessionEndReason.sessionRevoked.rawValue])
            return db.changesCount
        }
    }

    /// Folds the old database's write-ahead log into its file and removes the log, so the file alone holds every
    /// commit and the rename that follows leaves no log of the old database beside the new one. Keeps a link to
    /// the old file (`<database>.before-restore`), for an operator who restored the wrong backup.
    static func setAside(_ databasePath: String) throws {
        guard FileManager.default.fileExists(atPath: databasePath) else { return }
        // The last connection to close checkpoints the whole log and deletes it.
        let old = try DatabaseQueue(path: databasePath)
        try old.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        try old.close()
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: databasePath + suffix) {
            let size = try FileManager.default.attributesOfItem(atPath: databasePath + suffix)[.size] as? Int ?? 0
            if suffix == "-wal" && size > 0 { throw Problem(description: "The old database's log could not be folded into it; nothing was changed") }
            try FileManager.default.removeItem(atPath: databasePath + suffix)
        }
        let kept = databasePath + ".before-restore"
        if FileManager.default.fileExists(atPath: kept) { try FileManager.default.removeItem(atPath: kept) }
        guard link(databasePath, kept) == 0 else {
            throw Problem(description: "Could not keep the old database as \(kept): \(String(cString: strerror(errno)))")
        }
    }
}
