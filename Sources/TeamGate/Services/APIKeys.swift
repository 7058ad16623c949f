import Foundation
import Synchronization

/// Who holds an API key: the check every admin request pays before its handler runs.
public struct APIKeys: Sendable {
    let store: any TeamGateStore
    let transactions: Transactions
    let clock: WallClock
    let unknownKeys: UnknownCredentials
    let seenKeys: SeenAPIKeys

    init(store: any TeamGateStore, transactions: Transactions, clock: WallClock, seenKeys: SeenAPIKeys, unknownKeysPerMinute: Int) {
        self.store = store
        self.transactions = transactions
        self.clock = clock
        self.seenKeys = seenKeys
        self.unknownKeys = UnknownCredentials(perMinute: unknownKeysPerMinute)
    }

    /// The key behind a presented secret, if it exists and is not revoked. A key checked within the last
    /// `SeenAPIKeys.freshFor` is taken from memory (the logout re-checks it in its own transaction);
    /// otherwise it is read on a read connection, so made-up keys never wait in line with writes. A key
    /// never seen valid counts against `clientAddress`'s allowance for unknown credentials, and past it
    /// is refused without a lookup.
    /// A key of the other purpose is refused like a wrong one: a provisioning token opens no API route, nor a
    /// key the SCIM service.
    public func authenticate(secret: String, clientAddress: String? = nil, purpose: APIKey.Purpose = .publicAPI) async throws -> APIKey {
        let now = clock.now()
        let secretHash = SecretToken.hash(secret)
        let key = try await lookUp(secretHash, at: now, clientAddress: clientAddress)
        guard key.purpose == purpose else { throw TeamGateError.invalidAPIKey }
        if seenKeys.isUseDue(secretHash, at: now) {
            try await transactions.run { work in try work.recordAPIKeyUse(id: key.id, at: now) }
        }
        return key
    }

    private func lookUp(_ secretHash: Data, at now: Date, clientAddress: String?) async throws -> APIKey {
        let seen = seenKeys.lookup(secretHash, at: now)
        if case .fresh(let key) = seen { return key }
        if case .unknown = seen { try unknownKeys.admitLookup(from: clientAddress, at: clock.ticks()) }
        guard let key = try await store.apiKey(secretHash: secretHash), !key.isRevoked else {
            seenKeys.forget(secretHash)
            unknownKeys.recordUnknown(from: clientAddress, at: clock.ticks())
            throw TeamGateError.invalidAPIKey
        }
        seenKeys.remember(key, secretHash: secretHash, at: now)
        return key
    }
}

/// API keys this instance has seen valid, by the hash of their secret. A key seen within `freshFor` is
/// trusted without a read: requests in a burst then cost no lookup each. Revoking a key here forgets it
/// at once (`TeamDirectory.revokeAPIKey`); one revoked by another process is refused within `freshFor`,
/// and a logout checks its key again in its own transaction whatever this says. Keys seen valid before
/// are also spared the unknown-credentials limit, so a flood from a shared address does not shut out
/// the integrations there. Each entry also says when the key's use was last written.
final class SeenAPIKeys: Sendable {
    static let capacity = 10_000
    static let freshFor: TimeInterval = 1
    /// A key's use (`last_used_at`) is written at most this often per key and instance, not on every request.
    static let useRecordedEvery: TimeInterval = 60

    enum Lookup {
        case fresh(APIKey)
        /// Seen valid before, but long enough ago that it must be read again.
        case known
        case unknown
    }

    private struct Seen {
        var key: APIKey
        var checkedAt: Date
        var useRecordedAt: Date?
    }

    private let keys = Mutex<[Data: Seen]>([:])

    func lookup(_ secretHash: Data, at date: Date) -> Lookup {
        guard let seen = keys.withLock({ $0[secretHash] }) else { return .unknown }
        return date.timeIntervalSince(seen.checkedAt) < Self.freshFor ? .fresh(seen.key) : .known
    }

    func remember(_ key: APIKey, secretHash: Data, at date: Date) {
        keys.withLock { keys in
            // Keys are few; past the capacity something is odd, and starting over costs only reads.
            if keys.count >= Self.capacity { keys.removeAll() }
            keys[secretHash] = Seen(key: key, checkedAt: date, useRecordedAt: keys[secretHash]?.useRecordedAt)
        }
    }

    /// Whether the use at `date` of a key just remembered is to be written; if so, it counts as written from now.
    func isUseDue(_ secretHash: Data, at date: Date) -> Bool {
        keys.withLock { keys in
            guard var seen = keys[secretHash] else { return true }
            if let last = seen.useRecordedAt, date.timeIntervalSince(last) < Self.useRecordedEvery { return false }
            seen.useRecordedAt = date
            keys[secretHash] = seen
            return true
        }
    }

    func forget(_ secretHash: Data) {
        _ = keys.withLock { $0.removeValue(forKey: secretHash) }
    }

    func forget(keyID: String) {
        keys.withLock { keys in keys = keys.filter { $0.value.key.id != keyID } }
    }
}
