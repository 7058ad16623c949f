import Foundation

/// One member asked for by number, and the key that asks, checked in the same statement.
public struct MemberAsk: Sendable {
    public let organizationID: String
    public let phone: PhoneNumber
    public let keyID: String?
}

/// Sessions to end: which, under which revocation (none for a member's own sign-out), and when.
public struct SessionsToEnd: Sendable {
    public let selection: SessionSelection
    public let revocationID: String?
    public let at: Date

    public init(_ selection: SessionSelection, revocationID: String?, at: Date) {
        self.selection = selection
        self.revocationID = revocationID
        self.at = at
    }
}

/// Which live sessions `UnitOfWork.endSessions` ends.
public enum SessionSelection: Sendable, Hashable {
    /// Every live session of a member.
    case member(id: String)
    /// One session of the organisation, by id.
    case session(id: String, organizationID: String)
    /// The session a token opened.
    case token(hash: Data)
    /// Every live session of the organisation, except those of its members with the role `sparing`.
    case organization(id: String, sparing: Role?)
}

/// The writes of one transaction, run in the store's group commit: the primitives services compose.
/// Storage decides nothing here; every rule, message and payload is the caller's. Reads see the
/// transaction's own writes and are ordered with every other write, so a check made here still holds
/// when the transaction commits.
public protocol UnitOfWork: OIDCUnitOfWork, ProvisioningUnitOfWork {
    func insertOrganization(_ organization: Organization) throws
    func insertAPIKey(_ newKey: NewAPIKey) throws
    /// The key by id, if it exists and is not revoked.
    func liveAPIKey(id: String) throws -> APIKey?
    /// The organisation's key by id or prefix, revoked or not.
    func apiKey(idOrPrefix: String, organizationID: String) throws -> APIKey?
    func revokeAPIKey(id: String, at date: Date) throws
    func recordAPIKeyUse(id: String, at date: Date) throws

    func activeMember(organizationID: String, phone: PhoneNumber) throws -> TeamMember?
    /// For each ask, in order and in one statement: whether its key (if any) is still live, and the active
    /// member (the logout's two checks; on PostgreSQL each statement is a round trip).
    func activeMembers(_ asks: [MemberAsk]) throws -> [(keyIsLive: Bool, member: TeamMember?)]
    /// The active member (not deactivated) and their organisation's name. Read before a session is inserted: it also fixes
    /// the point from which other instances' changes count against the new session (`IndexEpoch`).
    func activeMember(id: String) throws -> (member: TeamMember, organizationName: String)?
    /// Throws `TeamGateError.memberExists` when the organisation already has the number.
    func insertMember(_ member: TeamMember) throws
    func markRemoved(memberID: String, at date: Date) throws
    /// Stores the member's role; their live sessions carry the new one from the commit on.
    func updateRole(of member: TeamMember) throws
    func setLock(memberID: String, until date: Date?) throws

    /// Stores a session; its token works from the commit on.
    func insertSession(_ session: Session, tokenHash: Data, live: LiveSession) throws
    /// Makes the live device session `id` (just opened by the console's sign-in, its token known to no device)
    /// a console session ending at `expiresAt` at the latest, its code confirmed and used `at`. From the commit
    /// on its token opens the console only; false when it is no longer live.
    func makeConsoleSession(id: String, tokenHash: Data, expiresAt: Date, at date: Date) throws -> Bool
    /// Moves the console session's idle deadline.
    func recordConsoleUse(id: String, at date: Date) throws
    /// A session of the organisation with its member, live or not.
    func session(id: String, organizationID: String) throws -> (session: Session, member: TeamMember)?
    /// Ends the live sessions each of `ends` selects, each with its own revocation and time, in one statement
    /// for each kind of selection; answers, for each, the sessions it ended. No two may select the same session.
    /// The store's index and the devices learn which once the transaction commits (`Committed.endedSessions`).
    func endSessions(_ ends: [SessionsToEnd], reason: SessionEndReason) throws -> [[EndedSession]]
    /// The organisation's members with these ids, removed or not, in no particular order.
    func members(ids: Set<String>) throws -> [TeamMember]

    func insertCode(_ challenge: OTPChallenge) throws
    /// The number's newest code, open or not: asking for a new code retires the older ones.
    func newestCode(phone: PhoneNumber) throws -> OTPChallenge?
    func recordWrongCode(id: String) throws
    func consumeCode(id: String, at date: Date) throws

    func appendAudit(_ event: AuditEvent) throws
    /// Appends the events in order, in one statement.
    func appendAudits(_ events: [AuditEvent]) throws
    /// Queues one delivery of `message` for each of the organisation's webhooks that subscribe to its event.
    func enqueueWebhook(_ message: WebhookMessage) throws
    func insertWebhook(_ webhook: Webhook) throws
    /// How many webhooks the organisation has, holding its row until the commit: creations on other instances wait
    /// for this one, so they count each other's.
    func lockedWebhookCount(organizationID: String) throws -> Int
    /// Deletes a live webhook and fails its queued deliveries with `dropReason` as their last error; false when
    /// there is none.
    func deleteWebhook(id: String, organizationID: String, at date: Date, dropReason: String) throws -> Bool
}

/// What a unit of work returned, once committed, with the sessions it ended.
public struct Committed<Value: Sendable>: Sendable {
    public let value: Value
    public let endedSessions: [EndedSession]
}

/// A unit of work many callers' inputs go through together: one call, statements that each serve all of
/// them (a list of `VALUES`, one `UPDATE` for every member), and for each input its output and the sessions
/// it ended. The name identifies the kind in a group commit: one name, one type.
public struct SharedUnitOfWork<Input: Sendable, Output: Sendable>: Sendable {
    public let name: String
    public let work: @Sendable (any UnitOfWork, [Input]) throws -> [(output: Output, endedSessions: [EndedSession])]

    public init(name: String, work: @escaping @Sendable (any UnitOfWork, [Input]) throws -> [(output: Output, endedSessions: [EndedSession])]) {
        self.name = name
        self.work = work
    }
}

/// Runs units of work. Where several instances share the database, sessions ended by the others reach
/// `observeSessionsEndedElsewhere`'s observer once this instance's index has dropped them.
public protocol TransactionStore: Sendable {
    func perform<Value: Sendable>(_ work: @escaping @Sendable (any UnitOfWork) throws -> Value) async throws -> Committed<Value>
    /// Runs `kind`'s work once for the inputs of every caller of the same kind whose writes share a group
    /// commit (see `SharedUnitOfWork`); each caller gets its own output and the sessions its own input ended.
    func perform<Input: Sendable, Output: Sendable>(_ input: Input, sharing kind: SharedUnitOfWork<Input, Output>) async throws -> Committed<Output>
    func observeSessionsEndedElsewhere(_ observer: @escaping @Sendable ([EndedSession]) -> Void)
    /// Why writes are failing, while the database itself fails them (unreachable, full); nil once one commits.
    var writeFailure: StoreFailure? { get }
    /// Writes one row through the writer, changing nothing: whether writes succeed again (a full disk has
    /// room again, the database is back). An empty transaction would not tell: it writes no page.
    func probeWrite() async throws
    /// Yields the failure after which the writer takes no more writes (`StoreFailure.isFatal`), when it happens.
    var fatalWriteFailures: AsyncStream<StoreFailure> { get }
    /// Lets the writer commit what it holds, then closes the database; writes after it fail.
    func close() async
}
