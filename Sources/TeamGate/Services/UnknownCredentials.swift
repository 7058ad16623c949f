import Foundation

/// How many unknown API keys and session tokens each client address may present. A credential found in
/// memory (a live session in the index, a key seen valid) never takes from it and is never refused by
/// it; one that must be looked up on disk is refused with 429 once its address has presented too many
/// that matched nothing, so a flood of made-up credentials costs memory lookups only, and a shared
/// address (an office, a proxy) keeps working for everyone whose credentials are real.
final class UnknownCredentials: Sendable {
    private let buckets: TokenBuckets<AddressBlock>

    init(perMinute: Int) {
        buckets = TokenBuckets(capacity: perMinute, per: 60)
    }

    /// Throws 429 when `address` has no allowance left for a lookup on disk.
    func admitLookup(from address: String?, at now: TimeInterval) throws {
        if let wait = buckets.wait(AddressBlock(address), at: now) { throw TeamGateError.tooManyFailedAttempts(retryAfterSeconds: wait.retryAfterSeconds) }
    }

    /// Records that `address` presented a credential that matched nothing.
    func recordUnknown(from address: String?, at now: TimeInterval) {
        _ = buckets.take(AddressBlock(address), at: now)
    }
}
