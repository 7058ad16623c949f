import Foundation

/// The OpenID Connect provider's reads, and its outbox of back-channel logouts.
public protocol OIDCStore: Sendable {
    /// A registered (not removed) app by id.
    func oidcClient(id: String) async throws -> OIDCClient?
    func oidcClients(organizationID: String) async throws -> [OIDCClient]
    /// An access or refresh token by hash, expired or not.
    func oidcToken(hash: Data) async throws -> OIDCToken?
    /// Signing keys still published: not retired, or retired after `publishedSince`; newest first.
    func oidcSigningKeys(publishedSince: Date) async throws -> [StoredSigningKey]
    /// Logout deliveries due at `date`, each claimed for `lease` seconds (on the database's clock where instances
    /// share it), so another instance does not send it meanwhile.
    func claimDueLogoutDeliveries(at date: Date, limit: Int, lease: TimeInterval) async throws -> [LogoutDelivery]
    /// Records an attempt; a failed one is tried again `retryIn` seconds later (nil: never again).
    func recordLogoutAttempt(id: String, delivered: Bool, status: Int?, error: String?, at date: Date, retryIn: TimeInterval?) async throws
    /// Gives a claimed delivery back unsent, due `dueIn` seconds after `date`; its attempts are unchanged.
    func releaseLogoutClaim(id: String, dueIn: TimeInterval, at date: Date) async throws
    /// Logout deliveries not yet delivered nor given up (for `/metrics` and tests).
    func pendingLogoutDeliveryCount() async throws -> Int
    /// Deletes up to `limit` codes and up to `limit` tokens that expired before `date`; returns how many.
    func pruneOIDC(expiredBefore date: Date, limit: Int) async throws -> Int
    /// Deletes up to `limit` logout deliveries queued before `date`, whatever became of them; returns how many.
    func pruneLogoutDeliveries(createdBefore date: Date, limit: Int) async throws -> Int
    /// Ends up to `limit` app sessions that expired by `date` and queues their apps' back-channel logouts: expiry is
    /// an end too, though nothing else writes it. Returns how many.
    func endExpiredAppSessions(at date: Date, limit: Int) async throws -> Int
}

/// A signing key as the database keeps it: its id (`kid`) and its private key in PEM.
public struct StoredSigningKey: Sendable, Equatable {
    public let id: String
    public let privateKeyPEM: String
    public let createdAt: Date
    public let retiredAt: Date?
}

/// The OpenID Connect primitives of a unit of work.
public protocol OIDCUnitOfWork {
    func insertOIDCClient(_ client: OIDCClient) throws
    /// Marks the app removed and answers the app sessions still live under it (to end); nil when the organisation has
    /// no such app.
    func removeOIDCClient(id: String, organizationID: String, at date: Date) throws -> [String]?
    func insertSigningKey(_ key: StoredSigningKey) throws
    /// Retires every published key but `keeping`.
    func retireSigningKeys(except keeping: String, at date: Date) throws
    func insertOIDCCode(_ code: OIDCCode) throws
    func oidcCode(hash: Data) throws -> OIDCCode?
    func markOIDCCodeUsed(hash: Data, grantSessionID: String?, at date: Date) throws
    /// Opens an app session (kind `app`) under the SSO session `parentID`, for `client`.
    func insertAppSession(_ session: Session, tokenHash: Data, live: LiveSession, parentID: String, clientID: String, scope: String, authTime: Date)
        throws
    func insertOIDCToken(_ token: OIDCToken) throws
    /// Queues one back-channel logout for each app with a back-channel URI that the ended app sessions were signed
    /// in to; one pending delivery per (app, sid) at a time.
    func enqueueBackChannelLogouts(appSessionIDs: [String], at date: Date) throws
}
