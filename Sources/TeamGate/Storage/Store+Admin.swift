import Foundation

/// The admin toolset's writes and reads, each one transaction.
public protocol TeamAdminStore: Sendable {
    /// Records that a key was used, at most once a minute per key (reads stay cheap).
    func touchAPIKey(id: String, at date: Date) async throws
    /// The active member with this number in the organisation.
    func member(organizationID: String, phone: PhoneNumber) async throws -> TeamMember?
    /// Adds all or none: throws `memberExists` / `unprocessable` naming the offending number.
    func insertMembers(_ members: [TeamMember], origin: RequestOrigin) async throws
    /// Removes a member and ends their sessions; nil when there is no such member.
    func removeMember(organizationID: String, phone: PhoneNumber, at date: Date, revocationID: String, origin: RequestOrigin) async throws
        -> EndedMemberSessions?
    /// Changes a member's role; nil when there is no such member.
    func changeRole(organizationID: String, phone: PhoneNumber, to role: Role, at date: Date, origin: RequestOrigin) async throws
        -> TeamMember?
    /// Lifts a lockout; nil when there is no such member, otherwise whether one was in force.
    func unlockMember(organizationID: String, phone: PhoneNumber, at date: Date, origin: RequestOrigin) async throws -> Bool?
    /// Ends one session of the organisation by id; nil when there is none, 0 when it had already ended.
    func endSession(id: String, organizationID: String, at date: Date, revocationID: String, origin: RequestOrigin) async throws -> Int?
    /// Ends every live session of the organisation (the owner's too only when asked).
    func endOrganizationSessions(
        organizationID: String, includeOwner: Bool, note: String, at date: Date, revocationID: String, origin: RequestOrigin
    ) async throws -> (membersAffected: Int, sessionsEnded: Int)
    /// The page `query` asks for; nil when its cursor is no event of the organisation.
    func auditEvents(_ query: AuditQuery) async throws -> [AuditEvent]?
}

/// A page of the audit log, newest first; `afterEventID` is the cursor: the last event of the page before,
/// by id, so a cursor means nothing outside its own organisation and counts nothing.
public struct AuditQuery: Sendable {
    public var organizationID: String
    public var limit: Int
    public var afterEventID: String?
    public var memberPhone: PhoneNumber?
    public var action: AuditAction?
    public var since: Date?

    public init(
        organizationID: String, limit: Int, afterEventID: String? = nil, memberPhone: PhoneNumber? = nil, action: AuditAction? = nil, since: Date? = nil
    ) {
        self.organizationID = organizationID
        self.limit = limit
        self.afterEventID = afterEventID
        self.memberPhone = memberPhone
        self.action = action
        self.since = since
    }
}

public protocol WebhookStore: Sendable {
    func insertWebhook(_ webhook: Webhook, origin: RequestOrigin) async throws
    func webhooks(organizationID: String) async throws -> [Webhook]
    func deleteWebhook(id: String, organizationID: String, at date: Date, origin: RequestOrigin) async throws -> Bool
    func deliveries(webhookID: String, organizationID: String, limit: Int) async throws -> [WebhookDelivery]?
    /// Pending deliveries due at `date`, with their webhook, oldest first, each claimed for `lease`
    /// seconds: another instance (or poll) does not get it again unless the attempt goes unrecorded.
    func claimDueDeliveries(at date: Date, limit: Int, lease: TimeInterval) async throws -> [(WebhookDelivery, Webhook)]
    func recordDeliveryAttempt(id: String, delivered: Bool, status: Int?, error: String?, at date: Date, nextAttemptAt: Date?) async throws
    /// Gives a claimed delivery back unsent, due again at `nextAttemptAt`; its attempts are unchanged.
    func releaseDeliveryClaim(id: String, nextAttemptAt: Date) async throws
}

/// A response kept for an Idempotency-Key, to be replayed to a retry.
public struct IdempotencyRecord: Sendable, Equatable {
    public let requestHash: Data
    public let status: Int
    public let body: Data
    public let createdAt: Date

    public init(requestHash: Data, status: Int, body: Data, createdAt: Date) {
        self.requestHash = requestHash
        self.status = status
        self.body = body
        self.createdAt = createdAt
    }
}

public protocol IdempotencyStore: Sendable {
    /// The record for the key if it is younger than `notBefore`.
    func idempotencyRecord(organizationID: String, key: String, notBefore: Date) async throws -> IdempotencyRecord?
    func saveIdempotencyRecord(_ record: IdempotencyRecord, organizationID: String, key: String) async throws
    /// Deletes up to `limit` records created before `date`; returns how many it deleted.
    func pruneIdempotencyRecords(createdBefore date: Date, limit: Int) async throws -> Int
}
