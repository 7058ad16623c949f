import Crypto
import Foundation
import HTTPTypes
import Synchronization

/// A token bucket per API key: `burst` requests at once, refilled at `perSecond`. Keys are told apart by
/// the hash of the presented secret, so the limiter keeps no secret, and unknown keys are limited too.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Date
    }

    let perSecond: Double
    let burst: Double
    private let buckets = Mutex<(entries: [Data: Bucket], calls: Int)>(([:], 0))

    init(perSecond: Double, burst: Int) {
        self.perSecond = perSecond
        self.burst = Double(max(burst, 1))
    }

    var isEnabled: Bool { perSecond > 0 }

    /// Takes a token for the key, or throws 429 with `Retry-After` and the `RateLimit-*` headers.
    func take(secret: String, now: Date = Date()) throws {
        guard isEnabled else { return }
        let id = Data(SHA256.hash(data: Data(secret.utf8)).prefix(16))
        let waitSeconds: Double? = buckets.withLock { state in
            state.calls += 1
            if state.calls % 10_000 == 0 {
                // Forget keys idle long enough to be full again.
                let horizon = burst / perSecond
                state.entries = state.entries.filter { now.timeIntervalSince($0.value.updated) < horizon }
            }
            var bucket = state.entries[id] ?? Bucket(tokens: burst, updated: now)
            bucket.tokens = min(burst, bucket.tokens + max(0, now.timeIntervalSince(bucket.updated)) * perSecond)
            bucket.updated = now
            defer { state.entries[id] = bucket }
            guard bucket.tokens >= 1 else { return (1 - bucket.tokens) / perSecond }
            bucket.tokens -= 1
            return nil
        }
        guard let waitSeconds else { return }
        let retry = max(1, Int(waitSeconds.rounded(.up)))
        throw APIError(
            .tooManyRequests, "Too many requests for this API key. Retry in \(retry) second\(retry == 1 ? "" : "s").",
            headers: [
                .retryAfter: String(retry), HTTPField.Name("RateLimit-Limit")!: String(Int(burst)), HTTPField.Name("RateLimit-Remaining")!: "0",
                HTTPField.Name("RateLimit-Reset")!: String(retry),
            ])
    }
}
