import Foundation
import Logging
import ServiceLifecycle

/// Folds the session ends logouts appended (`session_ends`) into the rows of `sessions`, so the table of ends stays
/// short and each instance's memory of them small. A fold is a small transaction of its own, taken only when the
/// writer has nothing waiting: a burst of logouts is never held behind one. Past `highWater` pending ends it folds
/// a batch each round all the same, so a writer that is never idle still catches up.
public struct SessionEndFolding: Service {
    let store: any TeamGateStore
    let logger: Logger
    let interval: Duration
    static let batch = 256
    static let highWater = 100_000

    public init(store: any TeamGateStore, logger: Logger, interval: Duration = .milliseconds(250)) {
        self.store = store
        self.logger = logger
        self.interval = interval
    }

    public func run() async throws {
        var failures = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                _ = try await foldOnce()
                failures = 0
            } catch {
                // Said when it starts failing and at every 240th failure after; the rounds back off meanwhile (5 s at most).
                if failures % 240 == 0 {
                    logger.error("Folding session ends into their sessions failed; retrying", metadata: ["error": "\(error)"])
                }
                failures += 1
            }
            let pause = interval * min(failures + 1, 20)
            do {
                try await cancelWhenGracefulShutdown { try await Sleep.for(pause) }
            } catch {
                break  // cancelled: the service is stopping
            }
        }
    }

    /// One round: batches while the writer is idle; past the high water one batch even if it is not, and past twice
    /// the high water batch after batch until below it (logouts then share the writer with the folds, and memory stays
    /// bounded). Returns how many it folded.
    public func foldOnce() async throws -> Int {
        var folded = try await store.foldSessionEnds(limit: Self.batch, onlyIfIdle: store.pendingSessionEnds < Self.highWater)
        var last = folded
        while last == Self.batch, !Task.isCancelled, !Task.isShuttingDownGracefully {
            last = try await store.foldSessionEnds(limit: Self.batch, onlyIfIdle: store.pendingSessionEnds < 2 * Self.highWater)
            folded += last
        }
        return folded
    }
}
