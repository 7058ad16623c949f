import Foundation
import Hummingbird
import NIOCore

/// `POST /team-member/logout`: DoubleTick's Logout API, keyed by the organisation's public API key,
/// with TeamGate's optional `reason`, `lockForMinutes` and `dryRun`.
struct LogoutController: Sendable {
    let logout: Logout
    let gate: AdminGate
    let bodyLimit: Int

    func register(on router: Router<TeamGateRequestContext>, routes: RouteTable) {
        router.on(.post, "/team-member/logout", routes: routes, use: handle)
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
            lockForMinutes = body.optionalInt("lockForMinutes", in: 1...Lockout.maximumMinutes, problems: &problems)
            dryRun = body.optionalBool("dryRun", problems: &problems) ?? false
            guard problems.isEmpty, let phone else { throw APIError.badRequest(problems) }
            self.phone = phone
        }
    }

    @Sendable func handle(_ request: Request, context: TeamGateRequestContext) async throws -> Response {
        if request.headers[AdminGate.idempotencyHeader] != nil {
            return try await gate.handle(request, context, readsBody: true) { call in
                try await perform(Fields(call.body!), secret: call.secret, context: context)
            }
        }
        // The hot path: the key is checked inside the logout's own transaction, so a logout costs one commit.
        guard let secret = Credentials.apiKey(in: request.headers) else { throw TeamGateError.invalidAPIKey }
        try gate.limiter.take(secret: secret)
        let fields: Fields
        do {
            fields = try Fields(try await JSONObjectBody.read(request, limit: bodyLimit))
        } catch let error as APIError {
            // As in NestJS, a wrong key is reported before anything wrong with the body.
            _ = try await logout.authenticate(apiKey: secret, clientAddress: context.clientIP)
            throw error
        }
        return try await perform(fields, secret: secret, context: context).response
    }

    struct DryRunBody: Encodable {
        let success = true
        let dryRun = true
        let sessionsToEnd: Int
        let sessions: [SessionBody]
    }

    private func perform(_ fields: Fields, secret: String, context: TeamGateRequestContext) async throws -> Reply {
        if fields.dryRun {
            let key = try await logout.authenticate(apiKey: secret, clientAddress: context.clientIP)
            let preview = try await logout.dryRun(organizationID: key.organizationID, phone: fields.phone)
            return try .json(.ok, DryRunBody(sessionsToEnd: preview.sessions.count, sessions: preview.sessions.map(SessionBody.init)))
        }
        let ended = try await logout.logOut(
            apiKey: secret, phone: fields.phone, reason: fields.reason, lockForMinutes: fields.lockForMinutes, requestID: context.id,
            clientIP: context.clientIP)
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

    init(_ session: Session) {
        id = session.id
        deviceName = session.deviceName
        userAgent = session.userAgent
        ipAddress = session.ipAddress
        createdAt = session.createdAt
        lastSeenAt = session.lastSeenAt
        expiresAt = session.expiresAt
        state = session.endedAt != nil ? "ended" : (session.expiresAt <= Date() ? "expired" : "active")
        endedAt = session.endedAt
        endReason = session.endReason?.rawValue
    }
}
