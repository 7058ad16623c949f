import ArgumentParser
import Foundation
import TeamGate

/// The database the flag names, else `TEAMGATE_DATABASE`, else the default, as `serve` reads it.
private func databaseLocation(_ flag: String?) throws -> TeamGateConfiguration.DatabaseLocation {
    var flags: [String: String] = [:]
    flags["database"] = flag
    let configuration = try readConfiguration { () throws(ConfigurationError) in
        try TeamGateConfiguration(reader: TeamGateConfiguration.reader(flags: flags), settings: TeamGateConfiguration.databaseSettings)
    }
    return configuration.databaseLocation
}

/// The password-free URL for PostgreSQL's tools, which read the password from PGPASSWORD or ~/.pgpass.
private func postgresTarget(_ url: PostgresURL) -> String {
    "postgresql://\(url.username)@\(url.host):\(url.port)/\(url.database)"
}

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up the database while the server runs.",
        discussion: """
            SQLite: a consistent copy through SQLite's online backup API, safe while `serve` runs: it holds every write \
            committed before it began (every logout already answered), checked with integrity_check, fsynced. \
            PostgreSQL: prints the pg_dump command to use (pg_dump takes a consistent snapshot too).
            """)

    @Option(help: "SQLite file or postgres:// URL (TEAMGATE_DATABASE).") var database: String?
    @Option(help: "The backup file to write; it must not exist yet.") var to: String
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() throws {
        switch try databaseLocation(database) {
        case .sqlite(let path):
            let started = Date()
            let summary = try runReportingProblems { try SQLiteBackup.backUp(databasePath: path, to: to) }
            if json {
                try printJSON(summary)
            } else {
                print(
                    "Backed up \(path) to \(summary.path) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s: "
                        + "\(summary.bytes) bytes, \(summary.members) members, \(summary.liveSessions) live sessions, schema \(summary.migrations.last ?? "empty")")
            }
        case .postgres(let url):
            print(
                """
                TeamGate's PostgreSQL database is backed up with PostgreSQL's own tool, while the servers run:

                  PGPASSWORD=… pg_dump --format=custom --file=\(to) '\(postgresTarget(url))'

                and restored, with every TeamGate instance stopped, into an empty database:

                  PGPASSWORD=… pg_restore --no-owner --dbname='\(postgresTarget(url))' \(to)
                """)
        }
    }
}

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Replace the database with a backup (the server must be stopped).",
        discussion: """
            SQLite: checks the backup (integrity_check; the schema exactly as this version's migrations make it, no \
            table, column, index, trigger or view more or less; every foreign key kept), then replaces the database in \
            one rename, so a crash leaves the old database or the new one; the old file is kept as \
            <database>.before-restore. Refuses while a server runs on the database. PostgreSQL: prints the pg_restore \
            command to use.
            """)

    @Option(help: "SQLite file or postgres:// URL (TEAMGATE_DATABASE).") var database: String?
    @Option(help: "The backup file to restore.") var from: String
    @Flag(help: "End every session the backup holds: sessions ended after the backup was taken would otherwise work again.")
    var endSessions = false
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() throws {
        switch try databaseLocation(database) {
        case .sqlite(let path):
            let summary = try runReportingProblems { try SQLiteBackup.restore(from: from, to: path, endingSessions: endSessions) }
            if json {
                try printJSON(summary)
            } else {
                let ended = summary.endedSessions.map { ", \($0) sessions ended (their devices sign in again)" } ?? ""
                print(
                    "Restored \(from) to \(path): \(summary.members) members, \(summary.liveSessions) live sessions\(ended), "
                        + "schema \(summary.migrations.last ?? "empty")")
            }
        case .postgres(let url):
            print(
                """
                Stop every TeamGate instance, then restore into an empty database:

                  PGPASSWORD=… pg_restore --no-owner --dbname='\(postgresTarget(url))' \(from)
                """)
        }
    }
}

/// Runs `work`; a backup problem goes to standard error with exit code 1, in one sentence.
private func runReportingProblems<T>(_ work: () throws -> T) throws -> T {
    do {
        return try work()
    } catch let problem as SQLiteBackup.Problem {
        FileHandle.standardError.write(Data("teamgate: \(problem.description)\n".utf8))
        throw ExitCode(1)
    }
}

private func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
