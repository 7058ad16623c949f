import Foundation
import Synchronization

/// Who holds an API key: the check every admin request pays before its handler runs.
public struct APIKeys: Sendable {
    let store: any TeamGateStore
    let transactions: Transactions
    let clock: WallClock
    let unknownKeys: UnknownCredentials
    let knownKeys = KnownAPIKeys()
    let usage = APIKeyUsage()

    init(store: any TeamGateStore, transactions: Transactions, clock: WallClock, unknownKeysPerMinute: Int) {
        self.store = store
        self.transactions = transactions
        self.clock = clock
        self.unknownKeys = UnknownCredentials(perMinute: unknownKeysPerMinute)
    }

    /// The key behind a presented secret, if it exists and is not revoked. It is read on a read connection,
    /// so made-up keys never wait in line with writes; a key not seen valid before counts against
    /// `clientAddress`'s allowance for unknown credentials, and past it is refused without a lookup.
    public func authenticate(secret: String, clientAddress: String? = nil) async throws -> APIKey {
        let now = clock.now()
        let secretHash = SecretToken.hash(secret)
        if !knownKeys.contains(secretHash) { try unknownKeys.admitLookup(from: clientAddress, at: now) }
        guard let key = try await store.apiKey(secretHash: secretHash), !key.isRevoked else {
            unknownKeys.recordUnknown(from: clientAddress, at: now)
            throw TeamGateError.invalidAPIKey
        }
        knownKeys.insert(secretHash)
        if usage.isDue(keyID: key.id, at: now) {
            try await transactions.run { work in try work.recordAPIKeyUse(id: key.id, at: now) }
        }
        return key
    }
}

/// Hashes of API keys this instance has seen valid: they are spared the unknown-credentials limit, so a
/// flood from a shared address does not shut out the integrations there. Never the last word: the key is
/// looked up all the same.
final class KnownAPIKeys: Sendable {
    static let capacity = 10_000
    private let hashes = Mutex<Set<Data>>([])

    func contains(_ hash: Data) -> Bool { hashes.withLock { $0.contains(hash) } }

    func insert(_ hash: Data) {
        hashes.withLock { hashes in
            // Keys are few; past the capacity something is odd, and starting over costs only reads.
            if hashes.count >= Self.capacity { hashes.removeAll() }
            hashes.insert(hash)
        }
    }
}

/// When each key's use was last recorded, so `last_used_at` costs a write at most once a minute per key
/// and instance instead of one per request.
final class APIKeyUsage: Sendable {
    static let interval: TimeInterval = 60
    private let recorded = Mutex<[String: Date]>([:])

    /// Whether the use at `date` is to be written; if so, it counts as written from now.
    func isDue(keyID: String, at date: Date) -> Bool {
        recorded.withLock { recorded in
            if let last = recorded[keyID], date.timeIntervalSince(last) < Self.interval { return false }
            if recorded.count >= KnownAPIKeys.capacity { recorded.removeAll() }
            recorded[keyID] = date
            return true
        }
    }
}
