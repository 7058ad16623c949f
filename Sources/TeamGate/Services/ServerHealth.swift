import Foundation

/// What the server says of itself: whether it is ready to serve (every live session in memory, the database
/// answering), and the figures `/metrics` reads at scrape time. The database is asked at most once a second
/// for each: `/ready` and `/metrics` need no key, so a flood of either must not become a flood of queries (on
/// PostgreSQL, each would hold a pooled connection).
public struct ServerHealth: Sendable {
    let store: any TeamGateStore
    /// The database's answer to a trivial query within the time limit; nil when it answered.
    let databaseProblem: RecentResult<String?>
    /// Why writes fail, once a write through the writer was tried again; nil when they succeed.
    let writeProblem: RecentResult<String?>
    /// Deliveries waiting, or why the database did not say.
    let pendingDeliveries: RecentResult<(count: Int?, problem: String?)>

    init(store: any TeamGateStore, clock: WallClock, databaseTimeout: Duration = .seconds(2)) {
        self.store = store
        self.databaseProblem = RecentResult(maxAge: 1, clock: clock) {
            do {
                try await withTimeLimit(databaseTimeout) { try await store.checkReachable() }
                return nil
            } catch {
                return "\(error)"
            }
        }
        // While writes fail, a write through the writer asks whether they would succeed again: its commit
        // clears the failure, so `/ready` recovers without waiting for a client's write. A fatal one stays.
        self.writeProblem = RecentResult(maxAge: 1, clock: clock) {
            guard let failure = store.writeFailure else { return nil }
            guard !failure.isFatal else { return "\(failure)" }
            do {
                try await withTimeLimit(databaseTimeout) { try await store.probeWrite() }
                return store.writeFailure.map(\.description)
            } catch {
                return "\(failure)"
            }
        }
        self.pendingDeliveries = RecentResult(maxAge: 1, clock: clock) {
            do {
                return (try await store.pendingDeliveryCount(), nil)
            } catch {
                return (nil, "\(error)")
            }
        }
    }

    public enum Readiness: Sendable, Equatable {
        case ready
        /// The session index is still loading: answers are right, but read from the database.
        case warming
        /// The database did not answer; the text is for the log only.
        case databaseUnreachable(String)
    }

    public func readiness() async -> Readiness {
        guard store.holdsEveryLiveSession else { return .warming }
        if let problem = await databaseProblem.value() { return .databaseUnreachable(problem) }
        if let problem = await writeProblem.value() { return .databaseUnreachable(problem) }
        return .ready
    }

    var sessionsInMemory: Int { store.sessionsInMemory }
    var holdsEveryLiveSession: Bool { store.holdsEveryLiveSession }

    func pendingDeliveryCount() async -> (count: Int?, problem: String?) {
        await pendingDeliveries.value()
    }
}
