import Foundation

/// Everything TeamGate keeps, one protocol per aggregate. SQLite and PostgreSQL implement all of them
/// and pass the same conformance suite; services see only these protocols.
public typealias TeamGateStore = OrganizationStore & APIKeyStore & MemberStore & SessionStore & OTPStore & AuditStore & TeamAdminStore
    & WebhookStore & IdempotencyStore

public protocol OrganizationStore: Sendable {
    /// Creates the organisation, its owner and its first key in one transaction.
    func createOrganization(_ organization: Organization, owner: TeamMember, firstKey: NewAPIKey, origin: RequestOrigin) async throws
    func organizations() async throws -> [Organization]
    func organization(id: String) async throws -> Organization?
}

/// A key about to be stored: its record and the hash of its secret.
public struct NewAPIKey: Sendable {
    public let key: APIKey
    public let secretHash: Data

    public init(key: APIKey, secretHash: Data) {
        self.key = key
        self.secretHash = secretHash
    }
}

public protocol APIKeyStore: Sendable {
    func insertAPIKey(_ newKey: NewAPIKey, origin: RequestOrigin) async throws
    func apiKeys(organizationID: String) async throws -> [APIKey]
    /// The key whose secret hashes to `secretHash`, revoked or not.
    func apiKey(secretHash: Data) async throws -> APIKey?
    /// Revokes a key of the organisation by id or prefix; nil when there is none.
    func revokeAPIKey(idOrPrefix: String, organizationID: String, at date: Date, origin: RequestOrigin) async throws -> APIKey?
}

public protocol MemberStore: Sendable {
    /// Adds a member; throws `TeamGateError.memberExists` when the organisation already has the number.
    func insertMember(_ member: TeamMember, origin: RequestOrigin) async throws
    func members(organizationID: String) async throws -> [TeamMember]
    /// Up to `limit` active members in joining order, after the member `afterMemberID` (removed or not);
    /// nil when that is no member of the organisation.
    func members(organizationID: String, afterMemberID: String?, limit: Int) async throws -> [TeamMember]?
    /// The organisation's members with these ids, removed ones included.
    func members(organizationID: String, ids: Set<String>) async throws -> [TeamMember]
    /// Active members with this number, in every organisation.
    func activeMembers(phone: PhoneNumber) async throws -> [TeamMember]
}

/// Who asks for a logout: an API key, checked inside the logout's own transaction (the hot path), or an
/// admin already signed in to the console.
public enum LogoutAuthority: Sendable {
    case apiKey(secretHash: Data)
    case admin(organizationID: String, actor: String)
}

/// The admin logout, as one durable step: authenticate the key, find the member, end their sessions,
/// write the audit event, all in one transaction.
public struct EndMemberSessionsCommand: Sendable {
    public let authority: LogoutAuthority
    public let phone: PhoneNumber
    public let reason: SessionEndReason
    public let note: String?
    /// Locks the member out until then, in the same transaction.
    public let lockUntil: Date?
    public let at: Date
    public let revocationID: String
    public let requestID: String?
    public let clientIP: String?

    public init(
        authority: LogoutAuthority,
        phone: PhoneNumber,
        reason: SessionEndReason,
        note: String? = nil,
        lockUntil: Date? = nil,
        at: Date,
        revocationID: String,
        requestID: String?,
        clientIP: String?
    ) {
        self.authority = authority
        self.phone = phone
        self.reason = reason
        self.note = note
        self.lockUntil = lockUntil
        self.at = at
        self.revocationID = revocationID
        self.requestID = requestID
        self.clientIP = clientIP
    }
}

public struct EndedMemberSessions: Sendable, Equatable {
    public let member: TeamMember
    public let sessionsEnded: Int
    public let revocationID: String
}

public enum SessionLookup: Sendable, Equatable {
    case live(LiveSession)
    case ended(Session)
    case unknown
}

public protocol SessionStore: Sendable {
    /// Stores a new session; its token works from the moment this returns.
    func insertSession(_ session: Session, tokenHash: Data, origin: RequestOrigin) async throws
    /// The live session for a token hash, answered from memory: the check every member request pays.
    /// Where instances share a database, first applies every change they committed before the call.
    func liveSession(tokenHash: Data, at date: Date) async throws -> LiveSession?
    /// Reads a token's session from disk, for a token the index does not know: explains a refusal, or
    /// adopts a live session another process made. Ordered with the writer, so it cannot undo a revocation.
    func loadSession(tokenHash: Data, at date: Date) async throws -> SessionLookup
    /// Throws `invalidAPIKey` or `notATeamMember`; otherwise the sessions are ended and on disk when it returns.
    func endMemberSessions(_ command: EndMemberSessionsCommand) async throws -> EndedMemberSessions
    /// Ends one session by its token hash (the member signing out); false when it was not live.
    func endSession(tokenHash: Data, reason: SessionEndReason, at date: Date, origin: RequestOrigin) async throws -> Bool
    func sessions(memberID: String) async throws -> [Session]
    /// Per member of the organisation who ever signed in: live sessions now, and the latest sign-in or activity.
    func sessionSummaries(organizationID: String, at date: Date) async throws -> [String: SessionSummary]
    /// Where connected devices hear that their session ended.
    var sessionEvents: SessionEventHub { get }
    /// Records that a device was told its session ended.
    func markNotified(sessionID: String, at date: Date) async throws
    /// Records that a device confirmed it; false when the revocation is not that session's.
    func markAcknowledged(sessionID: String, revocationID: String, at date: Date) async throws -> Bool
    /// The sessions a revocation ended, with what their devices were told; nil when the organisation has none by that id.
    func revocation(id: String, organizationID: String) async throws -> [RevokedSession]?
}

/// A member's sessions at a glance, for the console's team page.
public struct SessionSummary: Sendable, Equatable {
    public let live: Int
    public let lastSeen: Date?
}

/// One session of a revocation: when it ended, when its device was told, when the device confirmed.
public struct RevokedSession: Sendable, Equatable {
    public let sessionID: String
    public let deviceName: String
    public let memberPhone: PhoneNumber
    public let reason: SessionEndReason?
    public let endedAt: Date?
    public let notifiedAt: Date?
    public let acknowledgedAt: Date?
}

/// A one-time sign-in code as stored: its hash, never the code.
public struct OTPChallenge: Sendable, Equatable {
    public let id: String
    public let phone: PhoneNumber
    public let codeHash: Data
    public let createdAt: Date
    public let expiresAt: Date

    public init(id: String, phone: PhoneNumber, codeHash: Data, createdAt: Date, expiresAt: Date) {
        self.id = id
        self.phone = phone
        self.codeHash = codeHash
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

public enum OTPVerification: Sendable, Equatable {
    case accepted
    /// Wrong, expired, used up or never sent; the failed try is recorded.
    case rejected
}

public protocol OTPStore: Sendable {
    func insertOTPChallenge(_ challenge: OTPChallenge) async throws
    /// Checks `codeHash` against the number's newest open code. A wrong code uses up one of
    /// `maxAttempts` tries; a right one is consumed only when `consume` is true.
    func verifyOTP(phone: PhoneNumber, codeHash: Data, at date: Date, maxAttempts: Int, consume: Bool) async throws -> OTPVerification
    /// Deletes up to `limit` codes that expired before `date`; returns how many it deleted.
    func pruneOTPChallenges(expiredBefore date: Date, limit: Int) async throws -> Int
}

public protocol AuditStore: Sendable {
    func auditEvents(organizationID: String, limit: Int) async throws -> [AuditEvent]
}
