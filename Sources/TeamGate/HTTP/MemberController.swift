import Foundation
import Hummingbird
import Logging

/// The members' side: sign in with a code, check the session, sign out. The session routes are on a group
/// whose middleware authenticates the session (`MemberSessionMiddleware`), so their handlers get it for sure.
struct MemberController: Sendable {
    let signIn: SignIn
    let bodyLimit: Int

    func addRoutes(to routes: Routes<TeamGateRequestContext>) {
        routes.on(.post, "/auth/otp", use: requestCode)
        routes.on(.post, "/auth/login", use: logIn)
    }

    func addSessionRoutes(to routes: Routes<MemberRequestContext>) {
        routes.on(.get, "/me", use: me)
        routes.on(.get, "/me/sessions", use: mySessions)
        routes.on(.post, "/auth/logout", use: logOut)
    }

    struct CodeRequested: Encodable {
        let success = true
        let message = "If this number belongs to a team member, a sign-in code has been sent to it."
        let expiresInSeconds: Int
    }

    @Sendable func requestCode(_ request: Request, context: TeamGateRequestContext) async throws -> Response {
        let body = try await JSONObjectBody.read(request, limit: bodyLimit)
        var problems: [String] = []
        guard let phone = body.requiredPhone("phoneNumber", problems: &problems) else { throw APIError.badRequest(problems) }
        try signIn.requestCode(phone: phone, clientAddress: context.clientIP)
        return try JSONResponse.make(.accepted, CodeRequested(expiresInSeconds: Int(signIn.policy.codeLifetime)))
    }

    struct SignedInBody: Encodable {
        let token: String
        let sessionId: String
        let expiresAt: Date
        let member: MemberProfile
    }

    @Sendable func logIn(_ request: Request, context: TeamGateRequestContext) async throws -> Response {
        let body = try await JSONObjectBody.read(request, limit: bodyLimit)
        var problems: [String] = []
        let phone = body.requiredPhone("phoneNumber", problems: &problems)
        let code = body.requiredString("code", problems: &problems)
        if let code, code.count != 6 || !code.allSatisfy({ $0.isASCII && $0.isNumber }) {
            problems.append("code must be the 6 digits that were sent")
        }
        let deviceName = body.optionalString("deviceName", problems: &problems)?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let deviceName, deviceName.count > 100 { problems.append("deviceName must be at most 100 characters") }
        let organizationID = body.optionalString("organizationId", problems: &problems)
        guard problems.isEmpty, let phone, let code else { throw APIError.badRequest(problems) }
        let userAgent = request.headers[.userAgent].map { String($0.prefix(300)) }
        let signedIn = try await signIn.signIn(
            phone: phone,
            code: code,
            deviceName: deviceName.flatMap { $0.isEmpty ? nil : $0 } ?? "Unnamed device",
            organizationID: organizationID,
            userAgent: userAgent,
            ipAddress: context.clientIP
        )
        return try JSONResponse.make(
            .created,
            SignedInBody(
                token: signedIn.token,
                sessionId: signedIn.session.id,
                expiresAt: signedIn.session.expiresAt,
                member: MemberProfile(signedIn.member, organizationName: signedIn.organization.name)
            )
        )
    }

    @Sendable func me(_ request: Request, context: MemberRequestContext) async throws -> Response {
        let live = context.live
        // Written by hand: every member request pays this check, and JSONEncoder costs more than the
        // lookup itself (measured with scripts/bench). The shape is MeBody's, keys sorted as JSONResponse sorts them.
        let member = live.member
        let body = """
            {"expiresAt":"\(live.expiresAt.iso8601Seconds)","member":{"email":\(member.email.map(JSONText.string) ?? "null"),\
            "id":\(JSONText.string(member.id)),"name":\(JSONText.string(member.name)),"organization":{"id":\(JSONText.string(member.organizationID)),\
            "name":\(JSONText.string(live.organizationName))},"phone":"\(member.phone.e164)","role":{"id":\(member.role.id),\
            "name":\(JSONText.string(member.role.name))}},"sessionId":\(JSONText.string(live.sessionID))}
            """
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// One of the member's own sessions. No IP address: a shared device's next user should not learn where the
    /// others signed in from.
    struct OwnSessionBody: Encodable {
        let id: String
        let deviceName: String
        let userAgent: String?
        let createdAt: Date
        let lastSeenAt: Date?
        let expiresAt: Date
        let current: Bool
    }

    struct OwnSessionsBody: Encodable {
        let data: [OwnSessionBody]
    }

    @Sendable func mySessions(_ request: Request, context: MemberRequestContext) async throws -> Response {
        let live = context.live
        let sessions = try await signIn.sessions(of: live)
        return try JSONResponse.make(
            .ok,
            OwnSessionsBody(
                data: sessions.map {
                    OwnSessionBody(
                        id: $0.id, deviceName: $0.deviceName, userAgent: $0.userAgent, createdAt: $0.createdAt, lastSeenAt: $0.lastSeenAt,
                        expiresAt: $0.expiresAt, current: $0.id == live.sessionID)
                }))
    }

    struct SignedOut: Encodable {
        let success = true
    }

    @Sendable func logOut(_ request: Request, context: MemberRequestContext) async throws -> Response {
        try await signIn.signOut(context.live, origin: context.origin)
        return try JSONResponse.make(.ok, SignedOut())
    }
}

/// A member as the member API shows them.
struct MemberProfile: Encodable {
    struct RoleBody: Encodable {
        let id: Int
        let name: String
    }

    struct OrganizationBody: Encodable {
        let id: String
        let name: String
    }

    let id: String
    let name: String
    let phone: String
    let email: String?
    let role: RoleBody
    let organization: OrganizationBody

    init(_ member: TeamMember, organizationName: String) {
        self.id = member.id
        self.name = member.name
        self.phone = member.phone.e164
        self.email = member.email
        self.role = RoleBody(id: member.role.id, name: member.role.name)
        self.organization = OrganizationBody(id: member.organizationID, name: organizationName)
    }
}
