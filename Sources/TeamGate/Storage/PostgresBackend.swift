import Foundation
import GRDB
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// Where a PostgreSQL database is: `postgres://user[:password]@host[:port]/database[?sslmode=…]`.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: Int
    public let username: String
    public let password: String?
    public let database: String
    /// `sslmode` (and `sslrootcert`) from the query, as libpq names them; plain TCP without them.
    public let tls: PostgresTLSMode

    /// Nil unless `text` is a postgres:// or postgresql:// URL with a user, a host, a database and a known `sslmode`, if any.
    public init?(_ text: String) {
        do {
            self = try PostgresURL(parsing: text)
        } catch {
            return nil
        }
    }

    /// Throws what `text` lacks, for the configuration's problem list.
    public init(parsing text: String) throws(PostgresURLError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "postgres" || scheme == "postgresql",
            let host = components.host, !host.isEmpty,
            let username = components.user, !username.isEmpty
        else { throw .malformed }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw .malformed }
        self.host = host
        self.port = components.port ?? 5432
        self.username = username
        self.password = components.password
        self.database = database
        self.tls = try PostgresTLSMode(query: components.queryItems ?? [])
    }

    /// The URL without its password, for logs and error messages.
    public var description: String { "postgres://\(username)@\(host):\(port)/\(database)\(tls.query)" }
}

/// PostgreSQL through postgres-nio's `PostgresClient` (a connection pool). The store's statements are
/// synchronous closures, as GRDB runs them; here each runs on a dispatch thread, never on the
/// concurrency pool, and waits for its round trips on a connection leased from the pool. Writes use
/// one serial writer thread, so group commit works as on SQLite: one transaction per batch.
final class PostgresBackend: SQLBackend {
    var system: String { "postgresql" }
    /// PostgreSQL's disk is PostgreSQL's to watch: a write that succeeds says it has room.
    var hasRoomToWrite: Bool { true }
    static let indexChannel = "teamgate_index"
    /// Names this process in its notifications, so it can tell the other instances' apart from its own.
    static let instanceID = SecretToken.identifier(prefix: "ins_")
    /// PostgreSQL's connections get their own event loop: their answers, which the writer waits for one
    /// statement at a time, then never queue behind HTTP work on the server's loops.
    static let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    let client: PostgresClient
    /// The longest one statement's round trip, or the wait for a pooled connection, may take
    /// (`--postgres-timeout-seconds`). A statement of ours takes milliseconds; past this the database or the link
    /// to it is gone (a restart, a cut cable, a silent firewall), and waiting longer would hold the writer and
    /// every request queued behind it.
    let timeout: Duration
    private let runTask: Task<Void, Never>
    private let logger: Logger
    private let writerQueue = DispatchQueue(label: "teamgate.postgres.writer")
    private let readerQueue = DispatchQueue(label: "teamgate.postgres.readers", attributes: .concurrent)

    private init(client: PostgresClient, timeout: Duration, logger: Logger) {
        self.client = client
        self.timeout = timeout
        self.logger = logger
        // The pool works only while `run()` does; it stops when `close()` cancels it.
        self.runTask = Task { await client.run() }
    }

    /// Connects, then applies the migrations this database lacks (one instance at a time).
    static func connect(url: PostgresURL, poolSize: Int, timeout: Duration, logger: Logger) async throws -> PostgresBackend {
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: try url.tls.client())
        configuration.options.maximumConnections = poolSize
        configuration.options.connectionIdleTimeout = .seconds(300)
        // At trace level the driver logs every row it receives, in hex, secrets included (a webhook's
        // signing secret, read for each delivery): it never logs below debug.
        var driverLogger = logger
        driverLogger.logLevel = max(logger.logLevel, .debug)
        let backend = PostgresBackend(
            client: PostgresClient(configuration: configuration, eventLoopGroup: eventLoops, backgroundLogger: driverLogger), timeout: timeout,
            logger: driverLogger)
        do {
            try await backend.migrate()
            try await backend.warnOfClockSkew()
        } catch {
            await backend.close()
            throw error
        }
        return backend
    }

    /// Leases, retries and hand-backs of webhook deliveries run on PostgreSQL's clock; what this instance's clock
    /// still decides is when a delivery it makes falls due (late by as much as its clock runs ahead) and every
    /// time it shows or stores. Said once at start-up, so an operator sees a clock that NTP does not keep.
    private func warnOfClockSkew() async throws {
        let before = Date()
        let databaseNow = try await read { db in try SQLStore.sharedNow(db, system: "postgresql") }
        guard let databaseNow else { return }
        let local = before.addingTimeInterval(Date().timeIntervalSince(before) / 2).millisecondsSince1970
        let skew = Double(local - databaseNow) / 1000
        if abs(skew) > 5 {
            logger.warning(
                "This instance's clock and PostgreSQL's differ; keep both on NTP",
                metadata: ["seconds": "\(String(format: "%.1f", skew))", "aheadOfDatabase": "\(skew > 0)"])
        }
    }

    func close() async {
        runTask.cancel()
        await runTask.value
    }

    /// A read has one deadline, its wait for a connection included: a read that got its connection late (every one
    /// held by a statement hanging on a cut-off link) has only what is left for its statements, so a session check on
    /// a cut-off instance is answered within one deadline, not a lease's wait plus a statement's.
    ///
    /// A read is idempotent, so one whose connection was closed under it (the server ended that backend: a restart,
    /// `pg_terminate_backend`) runs once more on another connection, within what is left of the same deadline: the
    /// other connections may well be alive, and the caller (a session check) would otherwise answer 503 for one
    /// dead backend.
    func read<T: Sendable>(_ work: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        let asked = ContinuousClock.now
        do {
            return try await read(asked: asked, within: timeout, work)
        } catch let closed as ReadOnClosedConnection {
            let left = timeout - (ContinuousClock.now - asked)
            guard left > Self.shortestStatementDeadline else { throw closed.failure }
            logger.debug("A read's connection was closed under it; reading once more on another", metadata: ["error": "\(closed.failure)"])
            do {
                return try await read(asked: asked, within: left, work)
            } catch let closedAgain as ReadOnClosedConnection {
                throw closedAgain.failure
            }
        }
    }

    private func read<T: Sendable>(
        asked: ContinuousClock.Instant, within leaseDeadline: Duration, _ work: @escaping @Sendable (any SQLConnection) throws -> T
    ) async throws -> T {
        try await leased(within: leaseDeadline) { [logger, readerQueue, timeout] connection in
            let left = max(timeout - (ContinuousClock.now - asked), Self.shortestStatementDeadline)
            let ended = ConnectionEndedFlag()
            do {
                return try await Self.run(on: readerQueue) {
                    try work(
                        PostgresSQLConnection(connection: connection, logger: logger, indexChange: nil, deadline: TimeAmount(left), connectionEnded: ended))
                }
            } catch let failure as StoreFailure where ended.isRaised {
                throw ReadOnClosedConnection(failure: failure)
            }
        }
    }

    /// What a read's statements get at least, however long it waited for its connection.
    static let shortestStatementDeadline: Duration = .milliseconds(100)

    /// Runs `body` on a pooled connection, failing as `StoreFailure` when the database is not there: no
    /// connection within `leaseDeadline` (the pool keeps trying while the database is down; callers are told at
    /// once), a round trip past its deadline, or the connection broken.
    ///
    /// A connection `body` failed on as the database's absence is closed, and handed back only once the pool has
    /// seen it close: the server's FATAL error arrives before its socket closes, and a connection handed back in
    /// between is counted idle and leased to the next caller, whose first statement then fails as well (the pool
    /// hears of a close through the channel's close future, on the connection's event loop).
    private func leased<T: Sendable>(
        within leaseDeadline: Duration? = nil, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        do {
            return try await Self.withLeaseDeadline(leaseDeadline ?? timeout) { [client, logger] started in
                try await client.withConnection { connection in
                    try started()
                    do {
                        return try await body(connection)
                    } catch {
                        if connection.isClosed || Self.meansUnavailable(error) { await Self.close(connection, logger: logger) }
                        throw error
                    }
                }
            }
        } catch let error as PSQLError {
            throw Self.storeFailure(error) ?? error
        }
    }

    private static func meansUnavailable(_ error: any Error) -> Bool {
        switch error {
        case is ReadOnClosedConnection: true
        case let failure as StoreFailure: if case .unavailable = failure { true } else { false }
        case let error as PSQLError: if case .unavailable = storeFailure(error) { true } else { false }
        default: false
        }
    }

    /// Closes `connection` and returns once its close future has completed: the pool's own callback on it, added
    /// when the pool made the connection, has then run.
    private static func close(_ connection: PostgresConnection, logger: Logger) async {
        do {
            try await connection.close()
            try await connection.closeFuture.get()
        } catch {
            // Closing a channel fails only when it is closed already, which is what was wanted.
            logger.debug("Closing a PostgreSQL connection the database failed on", metadata: ["error": "\(error)"])
        }
    }

    /// The driver's errors that mean the database is not there (as opposed to a statement it refused).
    static func storeFailure(_ error: PSQLError) -> StoreFailure? {
        switch error.code {
        case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown, .poolClosed, .queryCancelled:
            return .unavailable("\(error.code)")
        case .server:
            // Class 08: connection exceptions; 57: the server shutting down or a statement cancelled; 53: out of
            // resources (53100: disk full).
            let state = error.serverInfo?[.sqlState] ?? ""
            if state == "53100" { return .full }
            if state.hasPrefix("08") || state.hasPrefix("57") || state.hasPrefix("53") { return .unavailable("SQLSTATE \(state)") }
            return nil
        default:
            return nil
        }
    }

    /// The driver's errors that mean the connection is gone, so a statement that failed with one may succeed on
    /// another: it broke, or the server ended this backend (57P01 terminated by an administrator or a shutdown,
    /// 57P02 a crash of another backend, 57P03 not accepting connections yet).
    static func endsConnection(_ error: PSQLError) -> Bool {
        switch error.code {
        case .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
            return true
        case .server:
            return ["57P01", "57P02", "57P03"].contains(error.serverInfo?[.sqlState] ?? "")
        default:
            return false
        }
    }

    /// Runs `work`, which must call `started` once it holds a connection: if it has not within `deadline`, it is
    /// cancelled (the lease request with it) and `StoreFailure.unavailable` thrown. Once started, it runs to its
    /// end, however long: a transaction that may commit is never answered as failed.
    static func withLeaseDeadline<T: Sendable>(
        _ deadline: Duration, _ work: @escaping @Sendable (_ started: @escaping @Sendable () throws -> Void) async throws -> T
    ) async throws -> T {
        let lease = LeaseRace()
        let started: @Sendable () throws -> Void = {
            if !lease.claim(.started) { throw StoreFailure.unavailable("no connection within \(deadline)") }
        }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await work(started) }
            group.addTask {
                try await Sleep.for(deadline)
                if lease.claim(.timedOut) { throw StoreFailure.unavailable("no connection within \(deadline)") }
                return nil
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let value = next { return value }
            }
            throw StoreFailure.unavailable("no connection")
        }
    }

    func transaction<T: Sendable>(_ work: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        try await transaction(deadline: TimeAmount(timeout), work)
    }

    /// A transaction whose statements may each take up to `deadline` (the migrations wait for one another).
    private func transaction<T: Sendable>(deadline: TimeAmount, _ work: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        try await leased { [logger, writerQueue] connection in
            try await Self.run(on: writerQueue) {
                let db = PostgresSQLConnection(connection: connection, logger: logger, indexChange: TransactionIndexChange(), deadline: deadline)
                try db.execute("BEGIN")
                do {
                    let value = try work(db)
                    // One notification per transaction, however many of its writes changed the index.
                    // The payload, this instance and the time, lets the others measure how late they hear of it.
                    if db.indexChange?.mustAnnounce == true {
                        try db.execute("NOTIFY \(Self.indexChannel), '\(Self.instanceID) \(Date().millisecondsSince1970)'")
                    }
                    try db.execute("COMMIT")
                    return value
                } catch {
                    do {
                        try db.execute("ROLLBACK")
                    } catch let rollbackError {
                        // The connection is then broken and the pool drops it; the first error is the one to report.
                        logger.error("ROLLBACK failed", metadata: ["error": "\(String(reflecting: rollbackError))"])
                    }
                    throw error
                }
            }
        }
    }

    /// Calls `onNotification` once listening has begun (to apply what came before), then at every
    /// change another instance (or this one) commits, with when that other instance sent it (nil for this
    /// instance's own, and the first call). Returns or throws when the connection ends.
    func listenForIndexChanges(onNotification: @escaping @Sendable (_ sentByPeerAt: Date?) async -> Void) async throws {
        try await leased { connection in
            try await connection.listen(on: Self.indexChannel) { notifications in
                await onNotification(nil)
                for try await notification in notifications { await onNotification(Self.peerSendTime(notification.payload)) }
            }
        }
    }

    /// The send time in another instance's payload (`ins_… <milliseconds>`); nil for this instance's own, or an
    /// older instance's empty one.
    static func peerSendTime(_ payload: String) -> Date? {
        let parts = payload.split(separator: " ")
        guard parts.count == 2, parts[0] != instanceID, let milliseconds = Int64(parts[1]) else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(milliseconds) / 1000)
    }

    private func migrate() async throws {
        // Instances starting together wait for the one migrating: minutes on a large database, not a round trip.
        try await transaction(deadline: .minutes(10)) { db in
            // Instances starting together migrate one after the other.
            try db.execute("SELECT pg_advisory_xact_lock(7342001)")
            try db.execute("CREATE TABLE IF NOT EXISTS teamgate_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)")
            let applied = Set(try db.rows("SELECT name FROM teamgate_migrations").map { $0["name"] as String })
            for migration in SQLStore.migrations where !applied.contains(migration.name) {
                for statement in migration.postgresStatements { try db.execute(statement) }
                try db.execute("INSERT INTO teamgate_migrations (name, applied_at) VALUES (?, ?)", [migration.name, Date().millisecondsSince1970])
            }
        }
    }

    private static func run<T: Sendable>(on queue: DispatchQueue, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }
}

/// Where a lease under `withLeaseDeadline` is: the deadline and the lease race for the one change from `waiting`.
private final class LeaseRace: Sendable {
    enum Phase { case waiting, started, timedOut }
    private let phase = Mutex(Phase.waiting)

    /// Whether this call moved the lease out of `waiting` (to `outcome`); false when the other side came first.
    func claim(_ outcome: Phase) -> Bool {
        phase.withLock { phase in
            guard phase == .waiting else { return false }
            phase = outcome
            return true
        }
    }
}

/// A read that failed because its connection was closed under it, which `PostgresBackend.read` runs once more.
private struct ReadOnClosedConnection: Error {
    let failure: StoreFailure
}
