import Logging
import ServiceLifecycle

/// Ends the process when its store cannot go on (`StoreFailure.isFatal`: the disk failed a write). Writes are
/// refused with 503 from that moment; this service then throws, the group shuts down gracefully (requests in
/// flight answered, sockets told), and `teamgate serve` exits with a non-zero status for its supervisor to
/// restart it on a database that SQLite recovers from its journal. Staying up would be staying up unable to write.
public struct FatalFailureWatch: Service {
    let store: any TeamGateStore
    let logger: Logger

    public init(store: any TeamGateStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    public func run() async throws {
        let failures = store.fatalWriteFailures
        let fatal = await cancelWhenGracefulShutdown {
            var iterator = failures.makeAsyncIterator()
            return await iterator.next()
        }
        guard let fatal else { return }  // shutting down, or cancelled
        logger.critical("Stopping: the database cannot be written safely any more", metadata: ["error": "\(fatal)"])
        throw fatal
    }
}

extension FatalFailureWatch: CustomStringConvertible {
    public var description: String { "FatalFailureWatch" }
}
