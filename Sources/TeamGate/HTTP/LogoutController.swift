import Foundation
import Hummingbird
import NIOCore

/// `POST /team-member/logout`: DoubleTick's Logout API, keyed by the organisation's public API key,
/// with TeamGate's optional `reason`, `lockForMinutes` and `dryRun`.
struct LogoutController: Sendable {
    let logout: Logout
    let clock: WallClock
    let bodyLimit: Int

    func addRoutes(to routes: Routes<AdminRequestContext>) {
        routes.on(.post, "/team-member/logout", use: logOut)
    }

    /// The request's fields, checked.
    struct Fields {
        let phone: PhoneNumber
        let reason: String?
        let lockForMinutes: Int?
        let dryRun: Bool

        init(_ body: JSONObjectBody) throws {
            var problems: [String] = []
            let phone = body.requiredPhone("userPhoneNumber", problems: &problems)
            reason = body.optionalText("reason", maxLength: 500, problems: &problems)
            // Any whole number: the range is the rule's (`TeamRules.checkLockLength`), the same for every door.
            lockForMinutes = body.optionalWholeNumber("lockForMinutes", problems: &problems)
            dryRun = body.optionalBool("dryRun", problems: &problems) ?? false
            guard problems.isEmpty, let phone else { throw APIError.badRequest(problems) }
            self.phone = phone
        }
    }

    struct DryRunBody: Encodable {
        let success = true
        let dryRun = true
        let sessionsToEnd: Int
        let sessions: [SessionBody]
    }

    @Sendable func logOut(_ request: Request, context: AdminRequestContext) async throws -> Reply {
        let fields = try Fields(try await JSONObjectBody.read(request, limit: bodyLimit))
        if fields.dryRun {
            let preview = try await logout.dryRun(fields.phone, organizationID: context.organizationID, lockForMinutes: fields.lockForMinutes, origin: context.origin)
            return try .json(.ok, DryRunBody(sessionsToEnd: preview.sessions.count, sessions: preview.sessions.map { SessionBody($0, at: clock.now()) }))
        }
        let ended = try await logout.logOut(
            fields.phone, organizationID: context.organizationID, reason: fields.reason, lockForMinutes: fields.lockForMinutes, origin: context.origin)
        // Written by hand: this is the hot route, and the body is numbers and ids of safe characters.
        var body = #"{"success":true,"sessionsEnded":\#(ended.sessionsEnded),"revocationId":"\#(ended.revocationID)""#
        if let minutes = fields.lockForMinutes {
            body += #","lockedForMinutes":\#(minutes)"#
        }
        return Reply(status: .created, body: ByteBuffer(string: body + "}"))
    }
}

/// A session as the admin API shows it.
struct SessionBody: Encodable {
    let id: String
    let deviceName: String
    let userAgent: String?
    let ipAddress: String?
    let createdAt: Date
    let lastSeenAt: Date?
    let expiresAt: Date
    let state: String
    let endedAt: Date?
    let endReason: String?

    init(_ session: Session, at now: Date) {
        id = session.id
        deviceName = session.deviceName
        userAgent = session.userAgent
        ipAddress = session.ipAddress
        createdAt = session.createdAt
        lastSeenAt = session.lastSeenAt
        expiresAt = session.expiresAt
        state = session.endedAt != nil ? "ended" : (session.expiresAt <= now ? "expired" : "active")
        endedAt = session.endedAt
        endReason = session.endReason?.rawValue
    }
}
