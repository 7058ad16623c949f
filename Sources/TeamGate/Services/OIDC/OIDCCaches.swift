import Foundation
import Synchronization

/// Access and refresh tokens already read, by hash. A token row never changes once written (whether it works is its
/// expiry and its app session's liveness, both checked on every use), so a cached row is never stale; nor is its
/// introspection answer, every claim of which the row fixes: written once here, not on every app's API call.
final class OIDCTokenCache: Sendable {
    /// A reference: a lookup copies one pointer out of the table, not every field of the row.
    final class Entry: Sendable {
        let token: OIDCToken
        /// RFC 7662's answer while the token works.
        let introspection: String

        init(token: OIDCToken, introspection: String) {
            self.token = token
            self.introspection = introspection
        }
    }

    /// Beyond this many rows the cache starts again empty: rows are read back on their next use.
    static let capacity = 200_000
    let issuer: String
    private let rows = Mutex<[Data: Entry]>([:])

    init(issuer: String) {
        self.issuer = issuer
    }

    func entry(_ hash: Data) -> Entry? { rows.withLock { $0[hash] } }

    @discardableResult
    func remember(_ token: OIDCToken) -> Entry {
        let entry = Entry(token: token, introspection: Self.introspection(of: token, issuer: issuer))
        rows.withLock { rows in
            if rows.count >= Self.capacity { rows.removeAll(keepingCapacity: true) }
            rows[token.tokenHash] = entry
        }
        return entry
    }

    static func introspection(of record: OIDCToken, issuer: String) -> String {
        JSONClaim.text([
            "active": .bool(true), "scope": .string(record.scope), "client_id": .string(record.clientID), "sub": .string(record.memberID),
            "aud": .string(record.clientID), "iss": .string(issuer), "sid": .string(record.ssoSessionID),
            "exp": .int(Int64(record.expiresAt.timeIntervalSince1970)), "iat": .int(Int64(record.issuedAt.timeIntervalSince1970)),
            "token_type": .string(record.kind == .access ? "Bearer" : "refresh_token"),
        ])
    }
}

/// Apps by id, each kept a second: an app removed on another instance is refused within a second, and its
/// sign-ins are ended (in the session index) at once by the removal itself.
final class OIDCClientCache: Sendable {
    static let freshFor: TimeInterval = 1
    private let clients = Mutex<[String: (client: OIDCClient, readAt: TimeInterval)]>([:])

    func client(_ id: String, at ticks: TimeInterval) -> OIDCClient? {
        clients.withLock { clients in
            guard let cached = clients[id] else { return nil }
            guard ticks - cached.readAt < Self.freshFor else {
                clients.removeValue(forKey: id)
                return nil
            }
            return cached.client
        }
    }

    func remember(_ client: OIDCClient, at ticks: TimeInterval) {
        clients.withLock { clients in
            if clients.count >= 10_000 { clients.removeAll(keepingCapacity: true) }
            clients[client.id] = (client, ticks)
        }
    }

    func forget(_ id: String) {
        _ = clients.withLock { $0.removeValue(forKey: id) }
    }
}

/// The signing keys, from the database every instance shares: the newest signs, every published one verifies.
/// Read again once a minute, so a rotation on one instance reaches the others' signatures within a minute; the
/// JWKS is read fresh on every request, so it always lists a new key before anything is signed with it elsewhere.
final class OIDCSigningKeys: Sendable {
    static let rereadAfter: TimeInterval = 60
    let store: any TeamGateStore
    let transactions: Transactions
    let clock: WallClock
    let retiredKeyPublished: TimeInterval
    private let cached = Mutex<(keys: [SigningKey], readAt: TimeInterval?)>(([], nil))

    init(store: any TeamGateStore, transactions: Transactions, clock: WallClock, retiredKeyPublished: TimeInterval) {
        self.store = store
        self.transactions = transactions
        self.clock = clock
        self.retiredKeyPublished = retiredKeyPublished
    }

    /// Every published key, newest first; makes the first one when there is none yet.
    func published() async throws -> [SigningKey] {
        let stored = try await store.oidcSigningKeys(publishedSince: clock.now().addingTimeInterval(-retiredKeyPublished))
        let keys = try stored.map(SigningKey.init)
        guard !keys.isEmpty else {
            _ = try await rotate()
            return try await published()
        }
        cached.withLock { $0 = (keys, clock.ticks()) }
        return keys
    }

    /// The key that signs now: the newest not retired.
    func signing() async throws -> SigningKey {
        let (keys, readAt) = cached.withLock { ($0.keys, $0.readAt) }
        if let readAt, clock.ticks() - readAt < Self.rereadAfter, let key = keys.first(where: { $0.retiredAt == nil }) { return key }
        let fresh = try await published()
        guard let key = fresh.first(where: { $0.retiredAt == nil }) ?? fresh.first else { throw OIDCKeyError.noSigningKey }
        return key
    }

    /// Verifies with the published keys as last read (a token signed with a key this instance has not read yet is
    /// read again once).
    func verifying(kidOf token: String) async throws -> [SigningKey] {
        let keys = cached.withLock { $0.keys }
        if let kid = Self.kid(of: token), keys.contains(where: { $0.id == kid }) { return keys }
        return try await published()
    }

    /// Adds a new key that signs from now on; the others stay published for `retiredKeyPublished`.
    func rotate() async throws -> StoredSigningKey {
        let key = try SigningKey.generate(at: clock.now())
        try await transactions.run { work in
            try work.insertSigningKey(key)
            try work.retireSigningKeys(except: key.id, at: key.createdAt)
        }
        cached.withLock { $0.readAt = nil }
        return key
    }

    private static func kid(of token: String) -> String? {
        guard let header = token.split(separator: ".").first, let data = JSONWebSignature.decodeBase64URL(header) else { return nil }
        do {
            return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["kid"] as? String
        } catch {
            return nil  // not a JWS header: no key of ours
        }
    }
}

enum OIDCKeyError: Error {
    case noSigningKey
}
