import Foundation
import GRDB
import GRDBSQLite

/// Values bound to a statement's `?` placeholders, in order: the same Swift values on both databases.
typealias SQLArguments = [(any DatabaseValueConvertible)?]

/// A connection inside a read or a transaction, as the store's statements see it.
///
/// The store's SQL is written once, in the dialect SQLite and PostgreSQL share (integer milliseconds,
/// `?` placeholders, `RETURNING`, `ON CONFLICT`); each backend runs it its own way and hands rows back as
/// GRDB `Row`s, so decoding is shared too.
protocol SQLConnection {
    func execute(_ sql: String, _ arguments: SQLArguments) throws
    func rows(_ sql: String, _ arguments: SQLArguments) throws -> [Row]
    func row(_ sql: String, _ arguments: SQLArguments) throws -> Row?
    /// Visits rows one by one, for results too large to hold at once. `body` is escaping because a
    /// driver may keep it after the last row; it is never called after this returns.
    func forEachRow(_ sql: String, _ arguments: SQLArguments, _ body: @escaping (Row) throws -> Void) throws
    /// Visits rows as raw cells, valid only during `body`: for the start-up load of millions of rows, which
    /// then makes no value, string or row per cell.
    func forEachRawRow(_ sql: String, _ arguments: SQLArguments, _ body: @escaping (any RawRow) throws -> Void) throws
    /// Runs `work` in a savepoint: when it throws, its writes are undone and the transaction goes on.
    func inSavepoint(_ work: () throws -> Void) throws
    /// Whether other instances may share this database (PostgreSQL): only then are index changes
    /// numbered and announced (`IndexEpoch`).
    var hasPeers: Bool { get }
    /// The index epoch this transaction already took, if any (see `IndexEpoch.advance`).
    var transactionEpoch: Int64? { get }
    /// Records the epoch this transaction took, and that the other instances must hear of it when it
    /// commits (PostgreSQL NOTIFY).
    func recordIndexChange(epoch: Int64)
    func isUniqueViolation(_ error: any Error) -> Bool
}

/// Statements of many rows (`VALUES (…), (…)`), cut into chunks far under both databases' limits on
/// bound values (SQLite 32,766, PostgreSQL 65,535).
enum MultiRow {
    static let rowsPerStatement = 500

    /// `count` copies of `row`, comma-separated.
    static func values(_ row: String, count: Int) -> String {
        Array(repeating: row, count: count).joined(separator: ", ")
    }

    /// `(?, ?), (?, ?)` for `rows` rows of `columns` values.
    static func placeholders(rows: Int, columns: Int) -> String {
        values("(" + Array(repeating: "?", count: columns).joined(separator: ", ") + ")", count: rows)
    }

    /// The items in chunks of at most `rowsPerStatement`.
    static func chunks<Items: RandomAccessCollection>(_ items: Items) -> [Items.SubSequence] {
        stride(from: 0, to: items.count, by: rowsPerStatement).map { start in
            let from = items.index(items.startIndex, offsetBy: start)
            return items[from..<items.index(from, offsetBy: min(rowsPerStatement, items.count - start))]
        }
    }
}

/// One row's cells in the order the query names them, read in place.
protocol RawRow {
    /// The cell's bytes (a blob's, or a text's UTF-8); empty for NULL.
    func withBytes<Result>(_ column: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result
    func int64(_ column: Int) throws -> Int64
}

extension SQLConnection {
    func execute(_ sql: String) throws { try execute(sql, []) }
    func rows(_ sql: String) throws -> [Row] { try rows(sql, []) }
    func row(_ sql: String) throws -> Row? { try row(sql, []) }
}

/// Where a store's statements run: reads in parallel, writes in group-committed transactions.
protocol SQLBackend: Sendable {
    /// `sqlite` or `postgresql`, as OpenTelemetry's `db.system` names them (on spans).
    var system: String { get }
    func read<T: Sendable>(_ work: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T
    /// Runs `work` in one transaction and commits it; what `work` returns is handed back after the commit.
    func transaction<T: Sendable>(_ work: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T
    /// Ends the backend's connections.
    func close() async
    /// Whether the disk under the database has room for writes again, after they met a full one. A write that
    /// succeeds says little: one page may still fit in the log's existing space while a logout's pages do not.
    var hasRoomToWrite: Bool { get }
}

/// A GRDB database connection. Every statement goes through the connection's statement cache: hot
/// statements are compiled once, not per request (compiling also runs GRDB's authorizer over every
/// column, which showed in profiles).
struct SQLiteConnection: SQLConnection {
    let db: Database

    func execute(_ sql: String, _ arguments: SQLArguments) throws {
        try Self.failingAsStore { try db.cachedStatement(sql: sql).execute(arguments: StatementArguments(arguments)) }
    }

    func rows(_ sql: String, _ arguments: SQLArguments) throws -> [Row] {
        try Self.failingAsStore { try Row.fetchAll(db.cachedStatement(sql: sql), arguments: StatementArguments(arguments)) }
    }

    /// A full disk is the moment's, not the request's, and a failed disk write is the process's: a `StoreFailure`,
    /// whichever statement (or the commit) met it.
    static func failingAsStore<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError {
            throw StoreFailure(sqlite: error) ?? error
        }
    }

    func row(_ sql: String, _ arguments: SQLArguments) throws -> Row? {
        try Row.fetchOne(db.cachedStatement(sql: sql), arguments: StatementArguments(arguments))
    }

    func forEachRow(_ sql: String, _ arguments: SQLArguments, _ body: @escaping (Row) throws -> Void) throws {
        let cursor = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(arguments))
        while let row = try cursor.next() { try body(row) }
    }

    func forEachRawRow(_ sql: String, _ arguments: SQLArguments, _ body: @escaping (any RawRow) throws -> Void) throws {
        let statement = try db.makeStatement(sql: sql)
        try statement.setArguments(StatementArguments(arguments))
        let row = SQLiteRawRow(statement: statement.sqliteStatement)
        while true {
            switch sqlite3_step(statement.sqliteStatement) {
            case SQLITE_ROW: try body(row)
            case SQLITE_DONE: return
            case let code:
                throw DatabaseError(
                    resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: sql)
            }
        }
    }

    func inSavepoint(_ work: () throws -> Void) throws {
        try db.inSavepoint {
            try work()
            return .commit
        }
    }

    var hasPeers: Bool { false }

    var transactionEpoch: Int64? { nil }

    func recordIndexChange(epoch: Int64) {}

    func isUniqueViolation(_ error: any Error) -> Bool {
        (error as? DatabaseError)?.resultCode == .SQLITE_CONSTRAINT
    }
}

/// The current row of a stepping SQLite statement.
private struct SQLiteRawRow: RawRow {
    let statement: OpaquePointer

    func withBytes<Result>(_ column: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        // The pointer is asked for before the length, as SQLite's documentation wants.
        let start = sqlite3_column_blob(statement, Int32(column))
        return try body(UnsafeRawBufferPointer(start: start, count: Int(sqlite3_column_bytes(statement, Int32(column)))))
    }

    func int64(_ column: Int) throws -> Int64 {
        sqlite3_column_int64(statement, Int32(column))
    }
}

/// One SQLite file in WAL mode: readers in parallel from the pool, one writer.
///
/// Durability: by default `synchronous = FULL`, so the WAL is fsynced at every commit: a write that was
/// answered survives a process crash and a power loss; group commit shares each fsync among the writes
/// that arrived together. `NORMAL` fsyncs only at checkpoints: an answered write then survives a process
/// crash but not a power loss.
final class SQLiteBackend: SQLBackend {
    let pool: DatabasePool
    var system: String { "sqlite" }
    private let folder: String
    /// The free space under which the disk still counts as full once it was: room for a few thousand logouts
    /// and a checkpoint, so `/ready` does not flap between a full disk and an almost full one.
    static let roomToWrite = 16 * 1024 * 1024

    var hasRoomToWrite: Bool {
        var disk = statvfs()
        guard statvfs(folder, &disk) == 0 else { return true }  // cannot tell: the probe write decides
        return Int(disk.f_bavail) * Int(disk.f_frsize) >= Self.roomToWrite
    }

    init(path: String, synchronous: SQLStore.Synchronous) throws {
        folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous.rawValue)")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        pool = try DatabasePool(path: path, configuration: configuration)
        // Once more on the writer: opening the pool in WAL mode sets the writer back to NORMAL after
        // `prepareDatabase` ran, and the writer's setting is the one that decides what a commit survives.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous.rawValue)") }
        var migrator = DatabaseMigrator()
        for migration in SQLStore.migrations {
            migrator.registerMigration(migration.name) { db in try db.execute(sql: migration.sql) }
        }
        try migrator.migrate(pool)
    }

    func read<T: Sendable>(_ work: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        try await pool.read { db in try work(SQLiteConnection(db: db)) }
    }

    func transaction<T: Sendable>(_ work: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        do {
            return try await pool.write { db in try work(SQLiteConnection(db: db)) }
        } catch let error as DatabaseError {
            throw StoreFailure(sqlite: error) ?? error
        }
    }

    /// The pool closes its file when it is released.
    func close() async {}
}

extension StoreFailure {
    /// The failures of SQLite that are the disk's, not the statement's; nil for any other.
    init?(sqlite error: DatabaseError) {
        switch error.resultCode {
        case .SQLITE_FULL: self = .full
        // SQLITE_IOERR_FSYNC, _WRITE, _SHORT_READ…: what the kernel said of the file. The commit that met it
        // did not happen (SQLite rolls back), and what was written before it may not be on the disk.
        case .SQLITE_IOERR: self = .diskFailed
        default: return nil
        }
    }
}
