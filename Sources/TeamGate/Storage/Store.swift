import Foundation
import ServiceLifecycle

/// Everything TeamGate keeps: reads per aggregate, and `TransactionStore` for every change a service
/// composes. `SQLStore` implements them over SQLite or PostgreSQL, and both pass the same conformance
/// suite; services see only these protocols. As a `Service`, the store runs its background work in the
/// server's service group and closes last (`SQLStore.run`).
public typealias TeamGateStore = Service & TransactionStore & OrganizationStore & APIKeyStore & MemberStore & SessionStore & OTPStore & AuditStore
    & WebhookStore & IdempotencyStore & BulkSeedStore & ConsoleSessionStore & RetentionStore & OIDCStore & ProvisioningStore

/// What a bulk seed made: the numbers of the members and their session tokens, for load tests.
public struct SeededLoad: Sendable {
    public let phones: [String]
    public let tokens: [String]
    /// Each member's first device's token, in the order of `phones`.
    public let firstTokens: [String]
}

/// The bench's seed: members and sessions written in bulk, bypassing the services' one-at-a-time path.
public protocol BulkSeedStore: Sendable {
    /// Adds `members` members to the organisation, each signed in on 1–5 devices; their numbers are
    /// `+<phonePrefix><index>`; `progress` is called with the count done so far.
    func bulkSeed(
        organizationID: String, members: Int, phonePrefix: String, at date: Date, progress: @Sendable (Int) -> Void
    ) async throws -> SeededLoad
}

public protocol OrganizationStore: Sendable {
    func organizations() async throws -> [Organization]
    func organization(id: String) async throws -> Organization?
}

public protocol APIKeyStore: Sendable {
    func apiKeys(organizationID: String) async throws -> [APIKey]
    /// The key whose secret hashes to `secretHash`, revoked or not.
    func apiKey(secretHash: Data) async throws -> APIKey?
}

public protocol MemberStore: Sendable {
    /// The active member with this number in the organisation.
    func member(organizationID: String, phone: PhoneNumber) async throws -> TeamMember?
    func members(organizationID: String) async throws -> [TeamMember]
    /// Up to `limit` active members in joining order, after the member `afterMemberID` (removed or not);
    /// nil when that is no member of the organisation.
    func members(organizationID: String, afterMemberID: String?, limit: Int) async throws -> [TeamMember]?
    /// The organisation's members with these ids, removed ones included.
    func members(organizationID: String, ids: Set<String>) async throws -> [TeamMember]
    /// Active members with this number who may sign in (not deactivated), in every organisation.
    func activeMembers(phone: PhoneNumber) async throws -> [TeamMember]
}

/// What the disk says of a token the index does not know.
public enum SessionLookup: Sendable, Equatable {
    case live(LiveSession)
    case ended(Session)
    case unknown
}

public protocol SessionStore: Sendable {
    /// The live session for a token hash, answered from memory: the check every member request pays.
    /// Where instances share a database, first applies every change they committed before the call.
    func liveSession(tokenHash: Data, at date: Date) async throws -> LiveSession?
    /// False while the live sessions are being loaded into memory at start-up (`liveSession` then reads
    /// the disk for a session not loaded yet): what `/ready` reports.
    var holdsEveryLiveSession: Bool { get }
    /// Live sessions held in this instance's memory (for `/metrics`).
    var sessionsInMemory: Int { get }
    /// Drops from memory the sessions expired at `date`; returns how many.
    func forgetExpiredSessions(at date: Date) -> Int
    /// Runs a trivial query on a read connection: throws when the database cannot be reached (for `/ready`).
    func checkReachable() async throws
    /// Reads a token's session from disk, for a token the index does not know: explains a refusal, or
    /// adopts a live session another process made. Ordered with the writer, so it cannot undo a revocation.
    func loadSession(tokenHash: Data, at date: Date) async throws -> SessionLookup
    func sessions(memberID: String) async throws -> [Session]
    /// Per member of the organisation who ever signed in: live sessions now, and the latest sign-in or activity.
    func sessionSummaries(organizationID: String, at date: Date) async throws -> [String: SessionSummary]
    /// Records that a device was told its session ended.
    func markNotified(sessionID: String, at date: Date) async throws
    /// Records that a device confirmed it; false when the revocation is not that session's.
    func markAcknowledged(sessionID: String, revocationID: String, at date: Date) async throws -> Bool
    /// The sessions a revocation ended, with what their devices were told; nil when the organisation has none by that id.
    func revocation(id: String, organizationID: String) async throws -> [RevokedSession]?
}

/// The console's reads. Console sessions are read from the database on every console request, never from the
/// devices' index: the idle deadline another instance moved counts here too. The pages read a page at a time.
public protocol ConsoleSessionStore: Sendable {
    /// The console session a cookie's token hash opens, if it is live and its member active.
    func consoleSession(tokenHash: Data, at date: Date) async throws -> ConsoleSessionRecord?
    /// Per member named (of the organisation): live sessions now, and the latest sign-in or activity.
    func sessionSummaries(organizationID: String, memberIDs: [String], at date: Date) async throws -> [String: SessionSummary]
    /// Up to `limit` of the member's sessions, newest first, after the session `cursor`; nil when that is none of theirs.
    func sessions(memberID: String, before cursor: String?, limit: Int) async throws -> [Session]?
}

public protocol OTPStore: Sendable {
    /// Deletes up to `limit` codes that expired before `date`; returns how many it deleted.
    func pruneOTPChallenges(expiredBefore date: Date, limit: Int) async throws -> Int
}

public protocol AuditStore: Sendable {
    func auditEvents(organizationID: String, limit: Int) async throws -> [AuditEvent]
    /// The page `query` asks for; nil when its cursor is no event of the organisation.
    func auditEvents(_ query: AuditQuery) async throws -> [AuditEvent]?
}
