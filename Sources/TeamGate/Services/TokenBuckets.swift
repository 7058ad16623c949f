import Foundation
import Synchronization

/// A token bucket per key, in memory: `capacity` takes at once, refilled evenly over `window`. Used for
/// every limit that must hold without touching the database (per client address, per number and
/// address, per API key). Each instance keeps its own buckets.
final class TokenBuckets<Key: Hashable & Sendable>: Sendable {
    private struct Bucket {
        var tokens: Double
        /// Monotonic seconds (`WallClock.ticks`).
        var updated: TimeInterval
    }

    let capacity: Double
    let window: TimeInterval
    private let buckets = Mutex<(entries: [Key: Bucket], takes: Int)>(([:], 0))

    init(capacity: Int, per window: TimeInterval) {
        self.capacity = Double(max(capacity, 1))
        self.window = window
    }

    private var refillPerSecond: Double { capacity / window }

    /// Takes `cost` tokens for the key at `now` (monotonic seconds, `WallClock.ticks`); nil when taken, else
    /// the seconds until they would be there.
    func take(_ key: Key, cost: Double = 1, at now: TimeInterval) -> TimeInterval? {
        buckets.withLock { state in
            state.takes += 1
            // Forget buckets idle long enough to be full again, so random keys cannot grow the table for ever.
            if state.takes % 4096 == 0 { state.entries = state.entries.filter { now - $0.value.updated < window } }
            var bucket = refilled(state.entries[key], at: now)
            defer { state.entries[key] = bucket }
            guard bucket.tokens >= cost else { return (cost - bucket.tokens) / refillPerSecond }
            bucket.tokens -= cost
            return nil
        }
    }

    /// The seconds until the key has a token, without taking one; nil when it has one now.
    func wait(_ key: Key, at now: TimeInterval) -> TimeInterval? {
        buckets.withLock { state in
            let bucket = refilled(state.entries[key], at: now)
            return bucket.tokens >= 1 ? nil : (1 - bucket.tokens) / refillPerSecond
        }
    }

    private func refilled(_ bucket: Bucket?, at now: TimeInterval) -> Bucket {
        guard var bucket else { return Bucket(tokens: capacity, updated: now) }
        bucket.tokens = min(capacity, bucket.tokens + max(0, now - bucket.updated) * refillPerSecond)
        bucket.updated = now
        return bucket
    }
}

extension TimeInterval {
    /// Whole seconds for `Retry-After`, at least 1.
    var retryAfterSeconds: Int { Swift.max(1, Int(self.rounded(.up))) }
}
