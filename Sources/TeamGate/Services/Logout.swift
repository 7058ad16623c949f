import Foundation
import Synchronization

/// The seed's use case: an admin, holding the organisation's API key, ends a member's sessions.
public struct Logout: Sendable {
    let store: any TeamGateStore
    let clock: WallClock
    let knownKeys = KnownAPIKeys()
    let unknownKeys: UnknownCredentials

    public init(store: any TeamGateStore, clock: WallClock = .system, unknownKeysPerMinute: Int = 100) {
        self.store = store
        self.clock = clock
        self.unknownKeys = UnknownCredentials(perMinute: unknownKeysPerMinute)
    }

    /// The key behind `secretHash` if it is known and not revoked, read on a read connection within
    /// `clientAddress`'s allowance for unknown keys.
    private func lookUpKey(secretHash: Data, clientAddress: String?) async throws -> APIKey {
        let now = clock.now()
        try unknownKeys.admitLookup(from: clientAddress, at: now)
        guard let key = try await store.apiKey(secretHash: secretHash), !key.isRevoked else {
            unknownKeys.recordUnknown(from: clientAddress, at: now)
            throw TeamGateError.invalidAPIKey
        }
        knownKeys.insert(secretHash)
        return key
    }

    /// Refuses what `admin`'s role does not allow on `target` (`Role.manages`); a member may always act on themselves.
    static func authorize(_ admin: TeamMember, over target: TeamMember) throws {
        guard admin.id == target.id || admin.role.manages(target.role) else {
            throw TeamGateError.forbidden(
                admin.role == .teamLead
                    ? "A Team Lead cannot sign out, lock or unlock the Owner or another Team Lead."
                    : "Only the Owner and Team Leads manage members' sessions.")
        }
    }

    /// Refuses a lock of the Owner (it would shut the organisation out of its own keys) or past `Lockout.maximumMinutes`.
    static func checkLock(minutes: Int?, of target: TeamMember) throws {
        guard let minutes else { return }
        if target.isOwner { throw TeamGateError.unprocessable("The organisation owner cannot be locked out.") }
        if !(1...Lockout.maximumMinutes).contains(minutes) {
            throw TeamGateError.validation(["lockForMinutes must be an integer from 1 to \(Lockout.maximumMinutes)"])
        }
    }

    /// The same logout, asked for by an admin signed in to the console.
    public func logOut(
        _ target: TeamMember, by admin: TeamMember, reason: String?, lockForMinutes: Int?, origin: RequestOrigin
    ) async throws -> EndedMemberSessions {
        try Self.authorize(admin, over: target)
        try Self.checkLock(minutes: lockForMinutes, of: target)
        let now = clock.now()
        return try await store.endMemberSessions(
            EndMemberSessionsCommand(
                authority: .admin(organizationID: target.organizationID, actor: origin.actor),
                phone: target.phone,
                reason: .adminLogout,
                note: reason,
                lockUntil: lockForMinutes.map { now.addingTimeInterval(TimeInterval($0) * 60) },
                at: now,
                revocationID: SecretToken.identifier(prefix: "rev_"),
                requestID: origin.requestID,
                clientIP: origin.clientIP
            )
        )
    }

    /// The key behind a presented secret, if it is known and not revoked; its use is recorded.
    public func authenticate(apiKey secret: String, clientAddress: String? = nil) async throws -> APIKey {
        let key = try await lookUpKey(secretHash: SecretToken.hash(secret), clientAddress: clientAddress)
        try await store.touchAPIKey(id: key.id, at: clock.now())
        return key
    }

    /// What a logout would end, without ending anything.
    public func dryRun(organizationID: String, phone: PhoneNumber) async throws -> (member: TeamMember, sessions: [Session]) {
        guard let member = try await store.member(organizationID: organizationID, phone: phone) else { throw TeamGateError.notATeamMember }
        let now = clock.now()
        return (member, try await store.sessions(memberID: member.id).filter { $0.isLive(at: now) })
    }

    /// Ends one device's session (the shared-device case); 0 when it had already ended.
    public func endSession(organizationID: String, sessionID: String, origin: RequestOrigin) async throws -> (sessionsEnded: Int, revocationID: String) {
        let revocationID = SecretToken.identifier(prefix: "rev_")
        guard
            let ended = try await store.endSession(
                id: sessionID, organizationID: organizationID, at: clock.now(), revocationID: revocationID, origin: origin)
        else { throw TeamGateError.unprocessable("Session not found") }
        return (ended, revocationID)
    }

    /// Ends one device's session of `target`, asked for by an admin in the console.
    public func endSession(_ sessionID: String, of target: TeamMember, by admin: TeamMember, origin: RequestOrigin) async throws -> Int {
        try Self.authorize(admin, over: target)
        guard try await store.sessions(memberID: target.id).contains(where: { $0.id == sessionID }) else {
            throw TeamGateError.unprocessable("Session not found")
        }
        return try await endSession(organizationID: target.organizationID, sessionID: sessionID, origin: origin).sessionsEnded
    }

    /// Lifts `target`'s lockout, asked for by an admin in the console; says whether one was in force.
    public func unlock(_ target: TeamMember, by admin: TeamMember, origin: RequestOrigin) async throws -> Bool {
        try Self.authorize(admin, over: target)
        return try await unlock(organizationID: target.organizationID, phone: target.phone, origin: origin)
    }

    /// Ends every session in the organisation at once (an emergency); done when it returns.
    public func logOutEveryone(organizationID: String, reason: String, includeOwner: Bool, origin: RequestOrigin) async throws
        -> (membersAffected: Int, sessionsEnded: Int, revocationID: String)
    {
        let revocationID = SecretToken.identifier(prefix: "rev_")
        let result = try await store.endOrganizationSessions(
            organizationID: organizationID, includeOwner: includeOwner, note: reason, at: clock.now(), revocationID: revocationID, origin: origin)
        return (result.membersAffected, result.sessionsEnded, revocationID)
    }

    /// Lifts a lockout early; says whether one was in force.
    public func unlock(organizationID: String, phone: PhoneNumber, origin: RequestOrigin) async throws -> Bool {
        guard let wasLocked = try await store.unlockMember(organizationID: organizationID, phone: phone, at: clock.now(), origin: origin)
        else { throw TeamGateError.notATeamMember }
        return wasLocked
    }

    /// Ends every live session of the member with `phone` in the key's organisation, durably.
    /// Idempotent: a member with no live session gets `sessionsEnded == 0`.
    /// `reason` goes into the audit; `lockForMinutes` keeps the member from signing in again until then.
    public func logOut(
        apiKey secret: String,
        phone: PhoneNumber,
        reason: String? = nil,
        lockForMinutes: Int? = nil,
        requestID: String? = nil,
        clientIP: String? = nil
    ) async throws -> EndedMemberSessions {
        let now = clock.now()
        let secretHash = SecretToken.hash(secret)
        // A key this instance has not seen valid is looked up on a read connection first, so made-up keys
        // are refused without waiting in line with real logouts. The transaction checks the key again
        // either way: one revoked since it was seen is refused there.
        if !knownKeys.contains(secretHash) || lockForMinutes != nil {
            let key = try await lookUpKey(secretHash: secretHash, clientAddress: clientIP)
            if let target = try await store.member(organizationID: key.organizationID, phone: phone) {
                try Self.checkLock(minutes: lockForMinutes, of: target)
            }
        }
        return try await store.endMemberSessions(
            EndMemberSessionsCommand(
                authority: .apiKey(secretHash: secretHash),
                phone: phone,
                reason: .adminLogout,
                note: reason,
                lockUntil: lockForMinutes.map { now.addingTimeInterval(TimeInterval($0) * 60) },
                at: now,
                revocationID: SecretToken.identifier(prefix: "rev_"),
                requestID: requestID,
                clientIP: clientIP
            )
        )
    }
}

/// Hashes of API keys this instance has seen valid: a filter in front of the writer, never the last word.
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
