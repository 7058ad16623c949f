import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization

/// The store: the same statements over SQLite (one process owns the file) or PostgreSQL (several
/// instances share the database), one group-committing writer, and the in-memory index of live sessions.
public final class SQLStore: Sendable {
    let backend: any SQLBackend
    let writer: GroupCommitWriter
    let index = SessionIndex()
    /// Ends appended and not yet folded into `sessions`: every reader of a session's state adds them.
    let pendingEnds = PendingSessionEnds()
    /// Set when other instances share the database: keeps the index in step with their writes.
    let peers: PeerIndexSync?
    let logger: Logger
    /// Loads the index at start-up (`SQLStore+IndexLoading`); `close()` stops it through the flag.
    let indexLoading = Mutex<Task<Void, Never>?>(nil)
    let indexLoadingStopped = Atomic<Bool>(false)

    public enum Synchronous: String, Sendable, CaseIterable {
        case full = "FULL"
        case normal = "NORMAL"
    }

    /// Opens (creating if needed) the SQLite database at `path`, migrates it, and starts loading the live
    /// sessions into memory in the background.
    public convenience init(sqlitePath path: String, synchronous: Synchronous = .full, logger: Logger = Logger(label: "teamgate.store")) throws {
        let backend = try SQLiteBackend(path: path, synchronous: synchronous)
        self.init(backend: backend, logger: logger)
        // Before any read or write: the pending ends are part of every session's state.
        try backend.pool.read { [pendingEnds] db in try pendingEnds.loadIfNeeded(SQLiteConnection(db: db)) }
        startLoadingIndex()
    }

    /// Connects to PostgreSQL at `url`, migrates it, starts loading the live sessions in the background and
    /// following the other instances' changes, over at most `poolSize` connections. `close()` ends the connections.
    public static func postgres(url: PostgresURL, poolSize: Int, timeout: Duration = .seconds(2), logger: Logger) async throws -> SQLStore {
        let backend = try await PostgresBackend.connect(url: url, poolSize: poolSize, timeout: timeout, logger: logger)
        let store = SQLStore(backend: backend, logger: logger, peers: { PeerIndexSync(backend: backend, index: $0, pendingEnds: $1, logger: logger) })
        do {
            // The index is loading already, so the changes numbered above this epoch, applied by catching up,
            // are remembered against the loader's reads; those at or below it are in what the loader reads.
            let epoch = try await backend.read { db in try IndexEpoch.current(db) }
            store.peers?.loaded(atEpoch: epoch)
            // Read after that epoch, so they hold every end numbered up to it (`PeerIndexSync.appliedEpoch`).
            try await backend.read { [pendingEnds = store.pendingEnds] db in try pendingEnds.loadIfNeeded(db) }
        } catch {
            await store.close()
            throw error
        }
        store.startLoadingIndex()
        return store
    }

    init(backend: any SQLBackend, logger: Logger, peers: (SessionIndex, PendingSessionEnds) -> PeerIndexSync? = { _, _ in nil }) {
        self.backend = backend
        self.logger = logger
        self.writer = GroupCommitWriter(backend: backend)
        self.peers = peers(index, pendingEnds)
        // Not warm until the loader has run: until then a token the index lacks is read from disk.
        index.beginLoading()
    }

    /// Lets the writer commit what it was given, then closes the database connections. Writes after it fail.
    public func close() async {
        indexLoadingStopped.store(true, ordering: .relaxed)
        if let loading = indexLoading.withLock({ $0 }) {
            loading.cancel()
            await loading.value
        }
        await writer.finish()
        await backend.close()
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
