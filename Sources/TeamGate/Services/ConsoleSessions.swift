import Foundation

/// The console's own sessions: made only by the console's sign-in (the code checked as every sign-in checks it),
/// ended by what ends the member's sessions, refused once idle (`ConsolePolicy.idleTimeout`) or past their
/// lifetime, and confirmed again with a fresh code before a secret is handed out.
public struct ConsoleSessions: Sendable {
    /// A console session just made; its token exists nowhere else.
    public struct SignedIn: Sendable {
        public let token: String
        public let record: ConsoleSessionRecord
    }

    let store: any TeamGateStore
    let transactions: Transactions
    let signIn: SignIn
    let clock: WallClock
    public let policy: ConsolePolicy

    /// Signs an Owner or Team Lead in to the console. With `replacing`, the admin confirms a fresh code: the new
    /// session takes the old one's place (which ends in the same transaction) and keeps its absolute end.
    public func signIn(
        phone: PhoneNumber, code: String, organizationID: String?, userAgent: String?, ipAddress: String?, requestID: String?,
        replacing previous: ConsoleSessionRecord? = nil
    ) async throws -> SignedIn {
        let signedIn = try await signIn.signIn(
            phone: phone, code: code, deviceName: "Admin console", organizationID: organizationID, userAgent: userAgent, ipAddress: ipAddress)
        let member = signedIn.member
        let origin = RequestOrigin(actor: .member(member), requestID: requestID, clientIP: ipAddress)
        let live = LiveSession(
            sessionID: signedIn.session.id, expiresAt: signedIn.session.expiresAt, member: member, organizationName: signedIn.organization.name)
        guard TeamRules.mayUseConsole(member.role), previous.map({ $0.live.member.id == member.id }) ?? true else {
            // The code was right, but this member may not use the console (or is not the admin confirming): not kept.
            try await signIn.signOut(live, origin: origin)
            throw TeamGateError.notPermitted(.notAnAdmin)
        }
        let now = clock.now()
        let expiresAt = min(previous?.live.expiresAt ?? .distantFuture, now.addingTimeInterval(policy.lifetime), signedIn.session.expiresAt)
        let tokenHash = SecretToken.hash(signedIn.token)
        let adminOrigin = RequestOrigin(actor: .consoleAdmin(member), requestID: requestID, clientIP: ipAddress)
        let replaced = previous.map { previous in
            SessionEnd(
                selection: .session(id: previous.live.sessionID, organizationID: member.organizationID), reason: .signedOut,
                organizationID: member.organizationID, member: member, origin: adminOrigin, revocationID: nil, at: now,
                auditReason: "Admin console: replaced after a fresh code")
        }
        try await transactions.run { work in
            guard try work.makeConsoleSession(id: live.sessionID, tokenHash: tokenHash, expiresAt: expiresAt, at: now) else {
                throw TeamGateError.sessionUnknown
            }
            if let replaced { _ = try SessionEnds.end(replaced, in: work) }
        }
        let record = ConsoleSessionRecord(
            live: LiveSession(sessionID: live.sessionID, expiresAt: expiresAt, member: member, organizationName: live.organizationName),
            createdAt: signedIn.session.createdAt, lastUsedAt: now, codeConfirmedAt: now)
        return SignedIn(token: signedIn.token, record: record)
    }

    /// The console session a cookie opens, read from the database (another instance may have moved its idle
    /// deadline or ended it). A use moves the deadline, written at most once per `useRecordingInterval`. A cookie
    /// that opens nothing counts against the address's allowance for unknown tokens, as a bearer token does.
    public func session(token: String, clientAddress: String?) async throws -> ConsoleSessionRecord {
        let now = clock.now()
        try signIn.unknownTokens.admitLookup(from: clientAddress, at: clock.ticks())
        guard let record = try await store.consoleSession(tokenHash: SecretToken.hash(token), at: now) else {
            signIn.unknownTokens.recordUnknown(from: clientAddress, at: clock.ticks())
            throw TeamGateError.sessionUnknown
        }
        // Idle is final: an idle session's use is never recorded again, so it cannot come back.
        guard policy.admits(record, at: now) else { throw TeamGateError.sessionEnded(.expired) }
        if policy.needsUseRecorded(record, at: now) {
            try await transactions.run { work in try work.recordConsoleUse(id: record.live.sessionID, at: now) }
        }
        return record
    }

    /// Whether the admin confirmed a code recently enough to be handed a new secret.
    public func hasFreshCode(_ record: ConsoleSessionRecord) -> Bool {
        policy.hasFreshCode(record, at: clock.now())
    }
}

extension ConsolePolicy {
    /// The policy the settings ask for (`--console-idle-minutes`, `--console-lifetime-hours`, `--console-fresh-code-minutes`).
    public init(_ configuration: TeamGateConfiguration) {
        self.init()
        idleTimeout = TimeInterval(configuration.consoleIdleMinutes) * 60
        lifetime = TimeInterval(configuration.consoleLifetimeHours) * 3600
        freshCodeWindow = TimeInterval(configuration.consoleFreshCodeMinutes) * 60
    }
}
