import Foundation
import GRDB
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// One leased PostgreSQL connection, driven synchronously from a dispatch thread.
struct PostgresSQLConnection: SQLConnection {
    let connection: PostgresConnection
    let logger: Logger
    /// Set inside a transaction: its index epoch, and whether to NOTIFY the other instances before it commits.
    let indexChange: TransactionIndexChange?
    /// The bound of each statement's round trip (`PostgresBackend.timeout`, or longer for work known to wait).
    let deadline: TimeAmount
    /// Told when a statement failed because the server ended the connection, or the connection broke.
    var connectionEnded: ConnectionEndedFlag? = nil

    func execute(_ sql: String, _ arguments: SQLArguments) throws {
        _ = try rows(sql, arguments)
    }

    func rows(_ sql: String, _ arguments: SQLArguments) throws -> [Row] {
        let query = PostgresQuery(unsafeSQL: PostgresPlaceholders.numbered(sql), binds: try Self.bindings(arguments))
        return try waitBounded(connection.query(query, logger: logger), within: deadline).rows.map { try Self.row($0) }
    }

    /// The bound for a statement that streams a whole table (the session index's load at start-up).
    static let streamDeadline = TimeAmount.minutes(10)

    /// `future`'s value, or `StoreFailure.unavailable` once `deadline` has passed: the connection is then closed
    /// (the pool makes a new one), so nothing later waits on it either.
    private func waitBounded<T: Sendable>(_ future: EventLoopFuture<T>, within deadline: TimeAmount) throws -> T {
        let bounded = future.eventLoop.makePromise(of: T.self)
        future.cascade(to: bounded)
        let timer = future.eventLoop.scheduleTask(in: deadline) { [connection] in
            bounded.fail(StoreFailure.unavailable("no answer within \(deadline.nanoseconds / 1_000_000) ms"))
            connection.close().whenComplete { _ in }
        }
        future.whenComplete { _ in timer.cancel() }
        do {
            return try bounded.futureResult.wait()
        } catch let error as PSQLError {
            if PostgresBackend.endsConnection(error) { connectionEnded?.raise() }
            throw PostgresBackend.storeFailure(error) ?? error
        }
    }

    func row(_ sql: String, _ arguments: SQLArguments) throws -> Row? {
        try rows(sql, arguments).first
    }

    func forEachRow(_ sql: String, _ arguments: SQLArguments, _ body: @escaping (Row) throws -> Void) throws {
        // Streamed: a million sessions at start-up are never all held as rows at once. The rows arrive
        // one at a time on the connection's event loop, all before `wait()` returns, so `body` is never
        // called concurrently nor after this function (postgres-nio may keep the closure a little longer).
        let query = PostgresQuery(unsafeSQL: PostgresPlaceholders.numbered(sql), binds: try Self.bindings(arguments))
        let visitor = UncheckedRowVisitor(visit: body)
        _ = try waitBounded(connection.query(query, logger: logger) { row in try visitor.visit(try Self.row(row)) }, within: Self.streamDeadline)
    }

    func forEachRawRow(_ sql: String, _ arguments: SQLArguments, _ body: @escaping (any RawRow) throws -> Void) throws {
        let query = PostgresQuery(unsafeSQL: PostgresPlaceholders.numbered(sql), binds: try Self.bindings(arguments))
        let visitor = UncheckedRawRowVisitor(visit: body)
        _ = try waitBounded(
            connection.query(query, logger: logger) { row in try visitor.visit(PostgresRawRow(cells: Array(row))) }, within: Self.streamDeadline)
    }

    func inSavepoint(_ work: () throws -> Void) throws {
        try execute("SAVEPOINT write")
        do {
            try work()
            try execute("RELEASE SAVEPOINT write")
        } catch {
            // The epoch may have been taken inside the savepoint, and is then undone with it.
            indexChange?.forgetEpoch()
            try execute("ROLLBACK TO SAVEPOINT write")
            try execute("RELEASE SAVEPOINT write")
            throw error
        }
    }

    var hasPeers: Bool { true }

    var transactionEpoch: Int64? { indexChange?.epoch }

    func recordIndexChange(epoch: Int64) {
        indexChange?.record(epoch: epoch)
    }

    func isUniqueViolation(_ error: any Error) -> Bool {
        (error as? PSQLError)?.serverInfo?[.sqlState] == "23505"
    }

    private static func bindings(_ arguments: SQLArguments) throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument?.databaseValue.storage ?? .null {
            case .null: bindings.appendNull()
            case .int64(let value): bindings.append(value)
            case .double(let value): bindings.append(value)
            case .string(let value): bindings.append(value)
            case .blob(let value): try bindings.append(value)
            }
        }
        return bindings
    }

    /// A GRDB row, so the shared decoding reads it; the first of two same-named columns wins, as in GRDB.
    private static func row(_ postgresRow: PostgresRow) throws -> Row {
        var columns: [String: DatabaseValue] = [:]
        for cell in postgresRow where columns[cell.columnName] == nil {
            columns[cell.columnName] = try value(cell)
        }
        return Row(columns)
    }

    /// A cell that does not decode as its declared type is an error, never a silent NULL.
    private static func value(_ cell: PostgresCell) throws -> DatabaseValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return try cell.decode(Int64.self).databaseValue
        case .bool: return (try cell.decode(Bool.self) ? 1 : 0 as Int64).databaseValue
        case .float4, .float8: return try cell.decode(Double.self).databaseValue
        case .bytea: return try cell.decode(Data.self).databaseValue
        default: return try cell.decode(String.self).databaseValue
        }
    }
}

private struct UncheckedRowVisitor: @unchecked Sendable {
    let visit: (Row) throws -> Void
}

private struct UncheckedRawRowVisitor: @unchecked Sendable {
    let visit: (any RawRow) throws -> Void
}

/// A row's cells as PostgreSQL sent them: binary, so a bytea's or a text's bytes are the value itself.
private struct PostgresRawRow: RawRow {
    let cells: [PostgresCell]

    func withBytes<Result>(_ column: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        guard let bytes = cells[column].bytes else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try bytes.withUnsafeReadableBytes(body)
    }

    func int64(_ column: Int) throws -> Int64 {
        try cells[column].decode(Int64.self)
    }
}

/// What a transaction changed in other instances' indexes: the epoch it took, and whether to notify
/// them. A write rolled back to its savepoint forgets the epoch (the next takes a new one) but keeps
/// the notification: a needless one costs the listeners one catch-up read.
final class TransactionIndexChange: Sendable {
    private struct State {
        var epoch: Int64?
        var mustAnnounce = false
    }

    private let state = Mutex(State())

    var epoch: Int64? { state.withLock { $0.epoch } }
    var mustAnnounce: Bool { state.withLock { $0.mustAnnounce } }

    func record(epoch: Int64) {
        state.withLock { $0 = State(epoch: epoch, mustAnnounce: true) }
    }

    func forgetEpoch() {
        state.withLock { $0.epoch = nil }
    }
}

/// The store writes `?` placeholders; PostgreSQL numbers them (`$1`, `$2`, …). Statements are few and
/// fixed, so each is rewritten once.
enum PostgresPlaceholders {
    private static let cache = Mutex<[String: String]>([:])

    static func numbered(_ sql: String) -> String {
        if let cached = cache.withLock({ $0[sql] }) { return cached }
        var result = ""
        result.reserveCapacity(sql.utf8.count + 16)
        var count = 0
        var inQuote = false
        for character in sql {
            if character == "'" { inQuote.toggle() }
            if character == "?", !inQuote {
                count += 1
                result += "$\(count)"
            } else {
                result.append(character)
            }
        }
        cache.withLock { $0[sql] = result }
        return result
    }
}

/// Raised by a statement whose connection the server ended (a restart, `pg_terminate_backend`) or which broke.
final class ConnectionEndedFlag: Sendable {
    private let raised = Atomic<Bool>(false)
    func raise() { raised.store(true, ordering: .relaxed) }
    var isRaised: Bool { raised.load(ordering: .relaxed) }
}
