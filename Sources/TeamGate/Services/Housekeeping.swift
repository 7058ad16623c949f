import Foundation
import Logging
import ServiceLifecycle

/// Deletes what no answer needs any more, so the tables a stranger can make grow stay bounded: sign-in
/// codes an hour after they expired, and idempotency records once their replay window has passed; and history
/// past its retention (`HistoryRetention`): audit events, closed sessions, webhook deliveries. Runs
/// as a service of the application, in small batches so that logouts never wait long behind it (and a pass stops
/// between two batches once graceful shutdown begins, so a slow database cannot hold the shutdown). Each pass
/// also forgets the expired sessions the session index still holds, and hands the memory freed since the
/// last one back to the system (`FreedMemory`).
public struct Housekeeping: Service {
    let store: any TeamGateStore
    let clock: WallClock
    let logger: Logger
    let interval: Duration
    let retention: HistoryRetention
    static let batch = 1000

    public init(
        store: any TeamGateStore, clock: WallClock = .system, logger: Logger, interval: Duration = .seconds(600),
        retention: HistoryRetention = HistoryRetention()
    ) {
        self.store = store
        self.clock = clock
        self.logger = logger
        self.interval = interval
        self.retention = retention
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
            do {
                let pruned = try await pruneHistoryOnce()
                if pruned.total > 0 {
                    logger.info(
                        "Pruned history past its retention",
                        metadata: [
                            "auditEvents": "\(pruned.auditEvents)", "sessions": "\(pruned.closedSessions)", "deliveries": "\(pruned.webhookDeliveries)",
                        ])
                }
            } catch {
                logger.error("Pruning history past its retention failed", metadata: ["error": "\(error)"])
            }
            do {
                let pruned = try await pruneOIDCOnce()
                if pruned > 0 { logger.info("Ended expired app sign-ins and pruned expired codes, tokens and logout deliveries", metadata: ["rows": "\(pruned)"]) }
            } catch {
                logger.error("Pruning the OpenID Connect tables failed", metadata: ["error": "\(error)"])
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
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let deleted = try await store.pruneOTPChallenges(expiredBefore: now.addingTimeInterval(-Retention.expiredCodes), limit: Self.batch)
            codes += deleted
            if deleted < Self.batch { break }
        }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let deleted = try await store.pruneIdempotencyRecords(createdBefore: now.addingTimeInterval(-Retention.idempotencyReplay), limit: Self.batch)
            records += deleted
            if deleted < Self.batch { break }
        }
        return (codes, records)
    }

    /// App sign-ins that expired are ended, so their apps get a back-channel logout (within one pass of the expiry);
    /// codes and tokens go an hour after they expired, logout deliveries with the webhook deliveries' retention.
    public func pruneOIDCOnce() async throws -> Int {
        let now = clock.now()
        var total = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let ended = try await store.endExpiredAppSessions(at: now, limit: Self.batch)
            total += ended
            if ended < Self.batch { break }
        }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let deleted = try await store.pruneOIDC(expiredBefore: now.addingTimeInterval(-Retention.expiredCodes), limit: Self.batch)
            total += deleted
            if deleted < Self.batch { break }
        }
        let cutoff = now.addingTimeInterval(-TimeInterval(retention.webhookDeliveryDays) * 86_400)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let deleted = try await store.pruneLogoutDeliveries(createdBefore: cutoff, limit: Self.batch)
            total += deleted
            if deleted < Self.batch { break }
        }
        return total
    }

    /// What one pass over the history deleted.
    public struct PrunedHistory: Sendable, Equatable {
        public var auditEvents = 0
        public var closedSessions = 0
        public var webhookDeliveries = 0
        var total: Int { auditEvents + closedSessions + webhookDeliveries }
    }

    /// One pass over the history tables, a batch a statement, until nothing past its retention is left.
    public func pruneHistoryOnce() async throws -> PrunedHistory {
        let now = clock.now()
        func cutoff(_ days: Int) -> Date { now.addingTimeInterval(-TimeInterval(days) * 86_400) }
        var pruned = PrunedHistory()
        // Audit events are taken oldest first by the order written; a batch may hold a few too young to go, so
        // only a batch that deletes nothing ends the pass.
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let deleted = try await store.pruneAuditEvents(occurredBefore: cutoff(retention.auditEventDays), limit: Self.batch)
            pruned.auditEvents += deleted
            if deleted == 0 { break }
        }
        // A session closes when it ended: ends still appended as records are folded into their rows first, so the
        // retention counts from the end, not from the expiry.
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            if try await store.foldSessionEnds(limit: Self.batch, onlyIfIdle: false) < Self.batch { break }
        }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let deleted = try await store.pruneClosedSessions(closedBefore: cutoff(retention.endedSessionDays), limit: Self.batch)
            pruned.closedSessions += deleted
            if deleted < Self.batch { break }
        }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let deleted = try await store.pruneWebhookDeliveries(createdBefore: cutoff(retention.webhookDeliveryDays), limit: Self.batch)
            pruned.webhookDeliveries += deleted
            if deleted < Self.batch { break }
        }
        return pruned
    }
}

// ServiceLifecycle logs each service by its description; this one says what it is and nothing it holds.
extension Housekeeping: CustomStringConvertible {
    public var description: String { "Housekeeping" }
}
