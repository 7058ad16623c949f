import Foundation
import Logging

/// Members' side: a code by phone, a session token in exchange, the session check, signing out.
public struct SignIn: Sendable {
    /// Limits and lifetimes of codes and sessions. The limits are kept per client address (an IPv6 client's /64),
    /// and per number *and* address; per number alone only the slowing-down of `NumberThrottle`, which pauses a
    /// number, never locks it: whoever types a member's number elsewhere can then neither lock the member out of
    /// sign-in nor learn from the answers that the number is a member's.
    public struct Policy: Sendable {
        public var codeLifetime: TimeInterval = 5 * 60
        /// Wrong codes one code takes in all, from every address, before it is used up.
        public var maxAttemptsPerCode = 20
        /// Codes one address may ask for one number per `codeWindow`.
        public var codesPerNumberAndAddress = 5
        /// Codes one address may ask for, all numbers together, per `codeWindow`.
        public var codesPerAddress = 30
        public var codeWindow: TimeInterval = 15 * 60
        /// Wrong codes one address may try for one number per `codeWindow`.
        public var wrongCodesPerNumberAndAddress = 5
        /// Wrong codes one address may try, all numbers together, per hour.
        public var wrongCodesPerAddress = 50
        /// Wrong codes in a row for one number, from every address together, before it pauses (`NumberThrottle`).
        public var wrongCodesPerNumberBeforePause = 10
        /// The first pause; each next one doubles, up to a day.
        public var firstNumberPause: TimeInterval = 60
        public var sessionLifetime: TimeInterval = 30 * 24 * 3600

        public init() {}
    }

    /// What a device gets when it signs in; the token exists nowhere else.
    public struct SignedIn: Sendable {
        public let token: String
        public let session: Session
        public let member: TeamMember
        public let organization: Organization
    }

    let store: any TeamGateStore
    let transactions: Transactions
    let sender: any OTPSender
    let clock: WallClock
    let policy: Policy
    let limits: Limits
    /// Numbers whose code is still to be sent, drained by `CodeSender`.
    let outgoing: CodeQueue
    let unknownTokens: UnknownCredentials
    let logger: Logger

    init(store: any TeamGateStore, transactions: Transactions, sender: any OTPSender, clock: WallClock, policy: Policy, unknownTokensPerMinute: Int, logger: Logger) {
        self.store = store
        self.transactions = transactions
        self.sender = sender
        self.clock = clock
        self.policy = policy
        self.limits = Limits(policy)
        self.outgoing = CodeQueue()
        self.unknownTokens = UnknownCredentials(perMinute: unknownTokensPerMinute)
        self.logger = logger
    }

    /// Takes a code request from `clientAddress`. The answer is the same for members, strangers, locked
    /// and removed members alike, and comes before anything about the number is looked up: the code
    /// (or, for a locked member, word of the lock) is sent afterwards by `CodeSender`.
    public func requestCode(phone: PhoneNumber, clientAddress: String?) throws {
        do {
            try admitCodeRequest(phone: phone, clientAddress: clientAddress)
            TeamGateMetrics.signInCode(outcome: "requested")
        } catch {
            TeamGateMetrics.signInCode(outcome: "refused")
            throw error
        }
    }

    private func admitCodeRequest(phone: PhoneNumber, clientAddress: String?) throws {
        let now = clock.ticks()
        let address = AddressBlock(clientAddress)
        if let wait = limits.wrongCodesPerNumber.wait(phone.digits, at: now) { throw TeamGateError.tooManyCodeRequests(retryAfterSeconds: wait.retryAfterSeconds) }
        if let wait = limits.codesPerAddress.wait(address, at: now) { throw TeamGateError.tooManyCodeRequests(retryAfterSeconds: wait.retryAfterSeconds) }
        if let wait = limits.codesPerNumberAndAddress.take(NumberAtAddress(digits: phone.digits, address: address), at: now) {
            throw TeamGateError.tooManyCodeRequests(retryAfterSeconds: wait.retryAfterSeconds)
        }
        if let wait = limits.codesPerAddress.take(address, at: now) { throw TeamGateError.tooManyCodeRequests(retryAfterSeconds: wait.retryAfterSeconds) }
        // Full only under a flood: refused like any other limit, the same for every number.
        guard outgoing.enqueue(phone, from: address) else { throw TeamGateError.tooManyCodeRequests(retryAfterSeconds: 5) }
    }

    /// Sends a code to `phone` if it belongs to an active member who is not locked out; a member who is
    /// locked out everywhere is told so instead, on their own phone. Nothing goes to other numbers.
    public func sendCode(phone: PhoneNumber) async throws {
        let now = clock.now()
        // What happens from here depends on who the number is, so no metric counts it: /metrics may be open.
        let members = try await store.activeMembers(phone: phone)
        guard !members.isEmpty else { return }
        if members.allSatisfy({ $0.isLocked(at: now) }), let until = members.compactMap(\.lockedUntil).min() {
            try await sender.send(.locked(phone, until: until))
            return
        }
        let code = SecretToken.oneTimeCode()
        let challenge = OTPChallenge(
            id: SecretToken.identifier(prefix: "otp_"),
            phone: phone,
            codeHash: Self.codeHash(code, phone: phone),
            createdAt: now,
            expiresAt: now.addingTimeInterval(policy.codeLifetime)
        )
        try await transactions.run { work in try work.insertCode(challenge) }
        try await sender.send(.code(code, to: phone, expiresAt: challenge.expiresAt, validFor: policy.codeLifetime))
    }

    /// Exchanges a code for a session on one device. A number on several teams must name the organisation.
    /// The wrong-code limits come first, per address and per number at that address, so guessing is
    /// bounded without an attacker being able to use up the member's own tries.
    public func signIn(
        phone: PhoneNumber,
        code: String,
        deviceName: String,
        organizationID: String?,
        userAgent: String?,
        ipAddress: String?
    ) async throws -> SignedIn {
        let now = clock.now()
        let address = AddressBlock(ipAddress)
        let numberAtAddress = NumberAtAddress(digits: phone.digits, address: address)
        let ticks = clock.ticks()
        if let wait = limits.wrongCodesPerAddress.wait(address, at: ticks) ?? limits.wrongCodesPerNumberAndAddress.wait(numberAtAddress, at: ticks)
            ?? limits.wrongCodesPerNumber.wait(phone.digits, at: ticks)
        {
            TeamGateMetrics.signInCode(outcome: "throttled")
            throw TeamGateError.tooManyFailedAttempts(retryAfterSeconds: wait.retryAfterSeconds)
        }
        let members = try await store.activeMembers(phone: phone)
        let candidates = organizationID.map { id in members.filter { $0.organizationID == id } } ?? members
        let locked = !candidates.isEmpty && candidates.allSatisfy { $0.isLocked(at: now) }
        // The code is checked before anything about the number is said (a lock included), and kept for
        // a retry when the organisation still has to be chosen.
        let accepted = try await checkCode(code, phone: phone, at: now, consume: candidates.count == 1 && !locked)
        guard accepted, !members.isEmpty else {
            _ = limits.wrongCodesPerAddress.take(address, at: ticks)
            _ = limits.wrongCodesPerNumberAndAddress.take(numberAtAddress, at: ticks)
            TeamGateMetrics.signInCode(outcome: "wrong")
            if let (failures, pause) = limits.wrongCodesPerNumber.recordFailure(phone.digits, at: ticks) {
                try await pauseNumber(phone, failures: failures, pause: pause, at: now)
            }
            throw TeamGateError.invalidCode
        }
        limits.wrongCodesPerNumber.recordSuccess(phone.digits)
        if locked, let until = candidates.compactMap(\.lockedUntil).min() { throw TeamGateError.memberLocked(until: until) }
        guard candidates.count == 1, let member = candidates.first else {
            if candidates.isEmpty { throw TeamGateError.notATeamMember }
            var organizations: [Organization] = []
            for candidate in candidates {
                if let organization = try await store.organization(id: candidate.organizationID) { organizations.append(organization) }
            }
            throw TeamGateError.organizationRequired(organizations)
        }
        guard let organization = try await store.organization(id: member.organizationID) else { throw TeamGateError.notATeamMember }
        let (token, session) = try await startSession(
            for: member, deviceName: deviceName, userAgent: userAgent, ipAddress: ipAddress,
            origin: RequestOrigin(actor: .member(member), clientIP: ipAddress))
        TeamGateMetrics.signInCode(outcome: "signed_in")
        return SignedIn(token: token, session: session, member: member, organization: organization)
    }

    /// A number's wrong codes reached a pause: its open code is used up, so after the pause only a fresh one
    /// counts. Logged without the number (it may be a stranger's, typed by anyone).
    private func pauseNumber(_ phone: PhoneNumber, failures: Int, pause: TimeInterval, at now: Date) async throws {
        logger.warning(
            "A number's wrong sign-in codes, from every address together, reached a pause",
            metadata: ["wrong_codes_in_a_row": "\(failures)", "pause_seconds": "\(Int(pause))"])
        TeamGateMetrics.signInNumberPaused()
        try await transactions.run { work in
            if let open = try work.newestCode(phone: phone), open.consumedAt == nil { try work.consumeCode(id: open.id, at: now) }
        }
    }

    /// Checks `code` against the number's newest code: only that one counts, while it is open. A wrong
    /// code uses up one of the code's tries; a right one is used up only when `consume` is true.
    private func checkCode(_ code: String, phone: PhoneNumber, at now: Date, consume: Bool) async throws -> Bool {
        let codeHash = Self.codeHash(code, phone: phone)
        let maxAttempts = policy.maxAttemptsPerCode
        return try await transactions.run { work in
            guard let stored = try work.newestCode(phone: phone), stored.isOpen(at: now, maxAttempts: maxAttempts) else { return false }
            guard stored.codeHash == codeHash else {
                try work.recordWrongCode(id: stored.id)
                return false
            }
            if consume { try work.consumeCode(id: stored.id, at: now) }
            return true
        }
    }

    /// Starts a session without a code, for the demo, seeding and the bench: the caller vouches for the member.
    public func openSession(for member: TeamMember, deviceName: String, userAgent: String? = nil, origin: RequestOrigin = .cli)
        async throws -> String
    {
        try await startSession(for: member, deviceName: deviceName, userAgent: userAgent, ipAddress: nil, origin: origin).token
    }

    /// Makes the token (256 random bits; only its hash is stored) and the session it opens.
    private func startSession(for member: TeamMember, deviceName: String, userAgent: String?, ipAddress: String?, origin: RequestOrigin)
        async throws -> (token: String, session: Session)
    {
        let now = clock.now()
        let token = SecretToken.make(prefix: "tgs_")
        let session = Session(
            id: SecretToken.identifier(prefix: "ses_"),
            memberID: member.id,
            organizationID: member.organizationID,
            deviceName: deviceName,
            userAgent: userAgent,
            ipAddress: ipAddress,
            createdAt: now,
            expiresAt: now.addingTimeInterval(policy.sessionLifetime)
        )
        let tokenHash = SecretToken.hash(token)
        try await transactions.run { work in
            // The member is read again in the transaction: a session is never made for a member removed or
            // locked out since the sign-in's first look.
            guard let (member, organizationName) = try work.activeMember(id: member.id) else { throw TeamGateError.notATeamMember }
            if member.isLocked(at: now), let until = member.lockedUntil { throw TeamGateError.memberLocked(until: until) }
            let live = LiveSession(sessionID: session.id, expiresAt: session.expiresAt, member: member, organizationName: organizationName)
            try work.insertSession(session, tokenHash: tokenHash, live: live)
            try work.appendAudit(
                .make(.memberSignedIn, organizationID: member.organizationID, at: now, origin: origin, member: member, reason: deviceName))
        }
        return (token, session)
    }

    /// The live session behind a token, from memory. When it is not live, says why (reading the disk,
    /// which only refused requests pay, within `clientAddress`'s allowance for unknown tokens).
    public func currentSession(token: String, clientAddress: String? = nil) async throws -> LiveSession {
        let hash = SecretToken.hash(token)
        let now = clock.now()
        // While the index loads, any lookup may read the disk: an address already over its allowance for
        // unknown tokens is refused first, as it is for every miss once the index is warm.
        if !store.holdsEveryLiveSession { try unknownTokens.admitLookup(from: clientAddress, at: clock.ticks()) }
        if let live = try await store.liveSession(tokenHash: hash, at: now) { return live }
        try unknownTokens.admitLookup(from: clientAddress, at: clock.ticks())
        switch try await store.loadSession(tokenHash: hash, at: now) {
        case .live(let live): return live
        case .ended(let stored): throw TeamGateError.sessionEnded(stored.endReason ?? (stored.expiresAt <= now ? .expired : .memberRemoved))
        case .unknown:
            unknownTokens.recordUnknown(from: clientAddress, at: clock.ticks())
            throw TeamGateError.sessionUnknown
        }
    }

    /// Ends `live`, the session of `origin`'s actor (a member on their own device, or an admin leaving the console).
    public func signOut(_ live: LiveSession, origin: RequestOrigin) async throws {
        try TeamRules.authorize(origin.actor, over: live.member)
        let end = SessionEnd(
            selection: .session(id: live.sessionID, organizationID: live.member.organizationID), reason: .signedOut,
            organizationID: live.member.organizationID, member: live.member, origin: origin, revocationID: nil, at: clock.now())
        try await transactions.run { work in _ = try SessionEnds.end(end, in: work) }
    }

    /// The live sessions of `live`'s member, this one first, then the newest: what the member's own page lists as
    /// "your devices".
    public func sessions(of live: LiveSession) async throws -> [Session] {
        let now = clock.now()
        let sessions = try await store.sessions(memberID: live.member.id).filter { $0.isLive(at: now) }
        return sessions.sorted { left, right in
            if (left.id == live.sessionID) != (right.id == live.sessionID) { return left.id == live.sessionID }
            return left.createdAt > right.createdAt
        }
    }

    /// Records that a connected device was told its session ended.
    func recordDeviceNotified(sessionID: String) async throws {
        try await store.markNotified(sessionID: sessionID, at: clock.now())
    }

    /// Records that a device confirmed the end; a confirmation of another revocation is ignored.
    func recordDeviceAcknowledged(sessionID: String, revocationID: String) async throws {
        _ = try await store.markAcknowledged(sessionID: sessionID, revocationID: revocationID, at: clock.now())
    }

    /// Codes are hashed with the number they were sent to, so one stored hash never matches another number's code.
    static func codeHash(_ code: String, phone: PhoneNumber) -> Data {
        SecretToken.hash("\(phone.digits):\(code)")
    }
}
