import Foundation
import GRDB
import Testing

@testable import TeamGate

/// What `teamgate restore` trusts: a backup is whole SQLite and still refused unless TeamGate made its schema
/// exactly and its rows keep their foreign keys; the database it replaces is untouched until the rename.
@Suite("SQLite restore")
struct SQLiteBackupTests {
    /// A migrated TeamGate database with one organisation, member and live session, and a backup of it, in a
    /// temporary folder of its own (left there, as `TestEnvironment` leaves its own).
    static func databaseAndBackup() throws -> (folder: URL, database: String, backup: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("teamgate-restore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let database = folder.appendingPathComponent("teamgate.sqlite").path
        do {
            let backend = try SQLiteBackend(path: database, synchronous: .full)
            try backend.pool.write { db in
                try db.execute(sql: "INSERT INTO organizations (id, name, created_at) VALUES ('org_a', 'Acme', 0)")
                try db.execute(
                    sql: "INSERT INTO members (id, organization_id, name, phone, role_id, created_at) VALUES ('mem_a', 'org_a', 'Meera', '919311111111', 3, 0)")
                try db.execute(
                    sql: "INSERT INTO sessions (id, member_id, organization_id, token_hash, device_name, created_at, expires_at) VALUES ('ses_a', 'mem_a', 'org_a', x'01', 'phone', 0, ?)",
                    arguments: [Date().addingTimeInterval(3600).millisecondsSince1970])
            }
        }
        let backup = folder.appendingPathComponent("backup.sqlite").path
        _ = try SQLiteBackup.backUp(databasePath: database, to: backup)
        return (folder, database, backup)
    }

    static func tamper(_ path: String, _ statements: [String]) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in
            for statement in statements { try db.execute(sql: statement) }
        }
        try queue.close()
    }

    static func refusal(restoring backup: String, to database: String) -> String? {
        do {
            _ = try SQLiteBackup.restore(from: backup, to: database)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test("a backup is readable by its owner only (0600), whatever the umask")
    func backupIsPrivate() throws {
        let (_, _, backup) = try Self.databaseAndBackup()
        let permissions = try #require(try FileManager.default.attributesOfItem(atPath: backup)[.posixPermissions] as? Int)
        #expect(permissions & 0o777 == 0o600, "mode \(String(permissions, radix: 8))")
    }

    @Test(
        "a backup TeamGate did not make is refused, and the database is left as it was",
        arguments: [
            ("CREATE TRIGGER revive AFTER UPDATE OF ended_at ON sessions BEGIN UPDATE sessions SET ended_at = NULL WHERE id = NEW.id; END", "trigger revive"),
            ("ALTER TABLE sessions DROP COLUMN acknowledged_at", "table sessions"),
            ("DROP INDEX sessions_by_revocation", "index sessions_by_revocation"),
            ("CREATE VIEW everyone AS SELECT * FROM members", "view everyone"),
        ])
    func refusesForeignSchema(statement: String, named: String) throws {
        let (_, database, backup) = try Self.databaseAndBackup()
        try Self.tamper(backup, [statement])
        let before = try Data(contentsOf: URL(fileURLWithPath: database))
        let refusal = try #require(Self.refusal(restoring: backup, to: database))
        #expect(refusal.contains("not restored") && refusal.contains(named), "\(refusal)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: database)) == before)
    }

    @Test("a backup with a row pointing at a member who is not there is refused")
    func refusesBrokenForeignKeys() throws {
        let (_, database, backup) = try Self.databaseAndBackup()
        try Self.tamper(backup, ["PRAGMA foreign_keys = OFF", "UPDATE sessions SET member_id = 'mem_nobody'"])
        let refusal = try #require(Self.refusal(restoring: backup, to: database))
        #expect(refusal.contains("pointing at rows that are not there"), "\(refusal)")
    }

    @Test("--end-sessions ends every session of the backup; the old file is kept beside the restored one")
    func endsSessions() throws {
        let (_, database, backup) = try Self.databaseAndBackup()
        let summary = try SQLiteBackup.restore(from: backup, to: database, endingSessions: true)
        #expect(summary.endedSessions == 1 && summary.liveSessions == 0)
        let restored = try DatabaseQueue(path: database)
        let live = try restored.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL") }
        #expect(live == 0)
        #expect(FileManager.default.fileExists(atPath: database + ".before-restore"))
    }
}
