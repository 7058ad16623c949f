import Foundation
import Logging
import ServiceLifecycle

/// Deletes what no answer needs any more, so the tables a stranger can make grow stay bounded: sign-in
/// codes an hour after they expired, and idempotency records once their replay window has passed. Runs
/// as a service of the application, in small batches so that logouts never wait long behind it. Each pass
/// also forgets the expired sessions the session index still holds, and hands the memory freed since the
/// last one back to the system (`FreedMemory`).
public struct Housekeeping: Service {
    let store: any TeamGateStore
    let clock: WallClock
    let logger: Logger
    let interval: Duration
    static let batch = 1000

    public init(store: any TeamGateStore, clock: WallClock = .system, logger: Logger, interval: Duration = .seconds(600)) {
        self.store = store
        self.clock = clock
        self.logger = logger
        self.interval = interval
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let pruned = try await pruneOnce()
                if pruned.codes + pruned.idempotencyRecords > 0 {
                    logger.info("Pruned old records", metadata: ["codes": "\(pruned.codes)", "idempotencyRecords": "\(pruned.idempotencyRecords)"])
                }
            } catch {
                logger.error("Pruning old records failed", metadata: ["error": "\(error)"])
            }
            let forgotten = store.forgetExpiredSessions(at: clock.now())
            if forgotten > 0 { logger.info("Forgot expired sessions", metadata: ["sessions": "\(forgotten)"]) }
            // Memory freed since the last pass (a burst of sockets, a load) goes back to the system.
            FreedMemory.release()
            do {
                // A long wait, so it ends as soon as the application starts shutting down.
                try await cancelWhenGracefulShutdown { try await Sleep.for(interval) }
            } catch {
                break  // cancelled: the service is stopping
            }
        }
    }

    /// One pass over both tables, batch after batch until nothing old is left.
    public func pruneOnce() async throws -> (codes: Int, idempotencyRecords: Int) {
        let now = clock.now()
        var codes = 0
        var records = 0
        while !Task.isCancelled {
            let deleted = try await store.pruneOTPChallenges(expiredBefore: now.addingTimeInterval(-Retention.expiredCodes), limit: Self.batch)
            codes += deleted
            if deleted < Self.batch { break }
        }
        while !Task.isCancelled {
            let deleted = try await store.pruneIdempotencyRecords(createdBefore: now.addingTimeInterval(-Retention.idempotencyReplay), limit: Self.batch)
            records += deleted
            if deleted < Self.batch { break }
        }
        return (codes, records)
    }
}

// ServiceLifecycle logs each service by its description; this one says what it is and nothing it holds.
extension Housekeeping: CustomStringConvertible {
    public var description: String { "Housekeeping" }
}
