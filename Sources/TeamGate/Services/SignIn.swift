import Foundation

/// Members' side: a code by phone, a session token in exchange, the session check, signing out.
public struct SignIn: Sendable {
    /// Limits and lifetimes of codes and sessions.
    public struct Policy: Sendable {
        public var codeLifetime: TimeInterval = 5 * 60
        public var maxAttemptsPerCode = 5
        public var maxSendsPerWindow = 5
        public var sendWindow: TimeInterval = 15 * 60
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
    let sender: any OTPSender
    let clock: WallClock
    let policy: Policy

    public init(store: any TeamGateStore, sender: any OTPSender, clock: WallClock = .system, policy: Policy = Policy()) {
        self.store = store
        self.sender = sender
        self.clock = clock
        self.policy = policy
    }

    /// Sends a code to `phone` if it belongs to a member. The answer is the same either way, so the
    /// endpoint does not tell strangers who is on a team.
    public func requestCode(phone: PhoneNumber) async throws {
        let now = clock.now()
        let sends = try await store.otpSendTimes(phone: phone, since: now.addingTimeInterval(-policy.sendWindow))
        if sends.count >= policy.maxSendsPerWindow, let oldest = sends.first {
            // Stored times are whole milliseconds: compare at that precision so a full window reads as 900, not 901.
            let retryAfterMilliseconds = (oldest.addingTimeInterval(policy.sendWindow).timeIntervalSince(now) * 1000).rounded()
            throw TeamGateError.tooManyCodeRequests(retryAfterSeconds: max(1, Int((retryAfterMilliseconds / 1000).rounded(.up))))
        }
        let members = try await store.activeMembers(phone: phone)
        guard !members.isEmpty else { return }
        if members.allSatisfy({ $0.isLocked(at: now) }), let until = members.compactMap(\.lockedUntil).min() {
            throw TeamGateError.memberLocked(until: until)
        }
        let code = SecretToken.oneTimeCode()
        let challenge = OTPChallenge(
            id: SecretToken.identifier(prefix: "otp_"),
            phone: phone,
            codeHash: Self.codeHash(code, phone: phone),
            createdAt: now,
            expiresAt: now.addingTimeInterval(policy.codeLifetime)
        )
        try await store.insertOTPChallenge(challenge)
        try await sender.send(OTPMessage(phoneNumber: phone.e164, code: code, expiresAt: challenge.expiresAt))
    }

    /// Exchanges a code for a session on one device. A number on several teams must name the organisation.
    public func signIn(
        phone: PhoneNumber,
        code: String,
        deviceName: String,
        organizationID: String?,
        userAgent: String?,
        ipAddress: String?
    ) async throws -> SignedIn {
        let now = clock.now()
        let members = try await store.activeMembers(phone: phone)
        let candidates = organizationID.map { id in members.filter { $0.organizationID == id } } ?? members
        // A lockout is checked before the code, so a locked member's code is not used up.
        if !candidates.isEmpty, candidates.allSatisfy({ $0.isLocked(at: now) }), let until = candidates.compactMap(\.lockedUntil).min() {
            throw TeamGateError.memberLocked(until: until)
        }
        // The code is checked before anything about the teams is said, and kept for a retry when the
        // organisation still has to be chosen.
        let verification = try await store.verifyOTP(
            phone: phone,
            codeHash: Self.codeHash(code, phone: phone),
            at: now,
            maxAttempts: policy.maxAttemptsPerCode,
            consume: candidates.count == 1
        )
        guard verification == .accepted, !members.isEmpty else { throw TeamGateError.invalidCode }
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
            origin: RequestOrigin(actor: "member:\(member.id)", clientIP: ipAddress))
        return SignedIn(token: token, session: session, member: member, organization: organization)
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
        try await store.insertSession(session, tokenHash: SecretToken.hash(token), origin: origin)
        return (token, session)
    }

    /// The live session behind a token, from memory. When it is not live, says why (reading the disk,
    /// which only refused requests pay).
    public func currentSession(token: String) async throws -> LiveSession {
        let hash = SecretToken.hash(token)
        let now = clock.now()
        if let live = try await store.liveSession(tokenHash: hash, at: now) { return live }
        switch try await store.loadSession(tokenHash: hash, at: now) {
        case .live(let live): return live
        case .ended(let stored): throw TeamGateError.sessionEnded(stored.endReason ?? (stored.expiresAt <= now ? .expired : .memberRemoved))
        case .unknown: throw TeamGateError.sessionUnknown
        }
    }

    /// Ends the caller's own session.
    public func signOut(token: String, clientIP: String?) async throws {
        let live = try await currentSession(token: token)
        _ = try await store.endSession(
            tokenHash: SecretToken.hash(token),
            reason: .signedOut,
            at: clock.now(),
            origin: RequestOrigin(actor: "member:\(live.member.id)", clientIP: clientIP)
        )
    }

    /// Codes are hashed with the number they were sent to, so one stored hash never matches another number's code.
    static func codeHash(_ code: String, phone: PhoneNumber) -> Data {
        SecretToken.hash("\(phone.digits):\(code)")
    }
}
