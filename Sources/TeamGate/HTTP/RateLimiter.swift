import Crypto
import Foundation
import HTTPTypes

/// A token bucket per API key: `burst` requests at once, refilled at `perSecond`. Keys are told apart by
/// the hash of the presented secret, so the limiter keeps no secret. Unknown keys never get this far in
/// numbers: they are limited per client address (`UnknownCredentials`, in `APIKeys`).
final class RateLimiter: Sendable {
    let perSecond: Double
    let burst: Int
    let clock: WallClock
    private let buckets: TokenBuckets<Data>

    init(perSecond: Double, burst: Int, clock: WallClock) {
        self.perSecond = perSecond
        self.clock = clock
        self.burst = max(burst, 1)
        buckets = TokenBuckets(capacity: self.burst, per: perSecond > 0 ? Double(self.burst) / perSecond : 1)
    }

    var isEnabled: Bool { perSecond > 0 }

    /// Takes a token for the key, or throws 429 with `Retry-After` and the `RateLimit-*` headers.
    func take(secret: String) throws {
        guard isEnabled, let wait = buckets.take(Data(SHA256.hash(data: Data(secret.utf8)).prefix(16)), at: clock.ticks()) else { return }
        let retry = wait.retryAfterSeconds
        throw APIError(
            .tooManyRequests, "Too many requests for this API key. Retry in \(retry) second\(retry == 1 ? "" : "s").",
            headers: [
                .retryAfter: String(retry), HTTPField.Name("RateLimit-Limit")!: String(burst), HTTPField.Name("RateLimit-Remaining")!: "0",
                HTTPField.Name("RateLimit-Reset")!: String(retry),
            ])
    }
}
