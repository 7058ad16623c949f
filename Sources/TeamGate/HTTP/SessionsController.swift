import Foundation
import Hummingbird

/// TeamGate's session tools: list a member's sessions, end one device, unlock, log everyone out.
struct SessionsController: Sendable {
    let directory: TeamDirectory
    let logout: Logout
    let clock: WallClock
    let bodyLimit: Int

    func addRoutes(to routes: Routes<AdminRequestContext>) {
        routes.on(.get, "/team-member/sessions", use: sessions)
        routes.on(.post, "/team-member/sessions/end", use: endSession)
        routes.on(.post, "/team-member/unlock", use: unlock)
        routes.on(.post, "/team/logout-all", use: logOutEveryone)
    }

    struct SessionList: Encodable {
        let data: [SessionBody]
    }

    @Sendable func sessions(_ request: Request, context: AdminRequestContext) async throws -> Reply {
        guard let text = request.uri.queryParameters.get("userPhoneNumber"), let phone = PhoneNumber(validating: text) else {
            throw APIError.badRequest(["userPhoneNumber must be a valid phone number with country code"])
        }
        let sessions = try await directory.sessions(organizationID: context.organizationID, phone: phone)
        return try .json(.ok, SessionList(data: sessions.map { SessionBody($0, at: clock.now()) }))
    }

    struct Ended: Encodable {
        let success = true
        let sessionsEnded: Int
        let revocationId: String
    }

    @Sendable func endSession(_ request: Request, context: AdminRequestContext) async throws -> Reply {
        var problems: [String] = []
        let body = try await JSONObjectBody.read(request, limit: bodyLimit)
        let id = body.requiredString("sessionId", problems: &problems)
        guard problems.isEmpty, let id else { throw APIError.badRequest(problems) }
        let ended = try await logout.endSession(id, organizationID: context.organizationID, origin: context.origin)
        return try .json(.created, Ended(sessionsEnded: ended.sessionsEnded, revocationId: ended.revocationID))
    }

    struct Unlocked: Encodable {
        let success = true
        let wasLocked: Bool
    }

    @Sendable func unlock(_ request: Request, context: AdminRequestContext) async throws -> Reply {
        var problems: [String] = []
        let body = try await JSONObjectBody.read(request, limit: bodyLimit)
        guard let phone = body.requiredPhone("userPhoneNumber", problems: &problems) else { throw APIError.badRequest(problems) }
        return try .json(.ok, Unlocked(wasLocked: try await logout.unlock(phone, organizationID: context.organizationID, origin: context.origin)))
    }

    struct EveryoneLoggedOut: Encodable {
        let success = true
        let membersAffected: Int
        let sessionsEnded: Int
        let revocationId: String
    }

    @Sendable func logOutEveryone(_ request: Request, context: AdminRequestContext) async throws -> Reply {
        let body = try await JSONObjectBody.read(request, limit: bodyLimit)
        var problems: [String] = []
        let reason = body.requiredString("reason", problems: &problems)
        if let reason, reason.count > 500 { problems.append("reason must be at most 500 characters") }
        let includeOwner = body.optionalBool("includeOwner", problems: &problems) ?? false
        guard problems.isEmpty, let reason else { throw APIError.badRequest(problems) }
        let result = try await logout.logOutEveryone(organizationID: context.organizationID, reason: reason, includeOwner: includeOwner, origin: context.origin)
        return try .json(
            .created, EveryoneLoggedOut(membersAffected: result.membersAffected, sessionsEnded: result.sessionsEnded, revocationId: result.revocationID))
    }
}
