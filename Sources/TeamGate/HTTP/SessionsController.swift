import Foundation
import Hummingbird

/// TeamGate's session tools: list a member's sessions, end one device, unlock, log everyone out.
struct SessionsController: Sendable {
    let directory: TeamDirectory
    let logout: Logout
    let gate: AdminGate

    func register(on router: Router<TeamGateRequestContext>, routes: RouteTable) {
        router.on(.get, "/team-member/sessions", routes: routes) { request, context in
            try await gate.handle(request, context, readsBody: false) { call in try await sessions(call) }
        }
        router.on(.post, "/team-member/sessions/end", routes: routes) { request, context in
            try await gate.handle(request, context, readsBody: true) { call in try await endSession(call) }
        }
        router.on(.post, "/team-member/unlock", routes: routes) { request, context in
            try await gate.handle(request, context, readsBody: true) { call in try await unlock(call) }
        }
        router.on(.post, "/team/logout-all", routes: routes) { request, context in
            try await gate.handle(request, context, readsBody: true) { call in try await logOutEveryone(call) }
        }
    }

    struct SessionList: Encodable {
        let data: [SessionBody]
    }

    private func sessions(_ call: AdminCall) async throws -> Reply {
        guard let text = call.request.uri.queryParameters.get("userPhoneNumber"), let phone = try? PhoneNumber(parsing: text) else {
            throw APIError.badRequest(["userPhoneNumber must be a valid phone number with country code"])
        }
        guard let sessions = try? await directory.sessions(organizationID: call.key.organizationID, phone: phone) else { throw TeamGateError.notATeamMember }
        return try .json(.ok, SessionList(data: sessions.map(SessionBody.init)))
    }

    struct Ended: Encodable {
        let success = true
        let sessionsEnded: Int
        let revocationId: String
    }

    private func endSession(_ call: AdminCall) async throws -> Reply {
        var problems: [String] = []
        let id = call.body!.requiredString("sessionId", problems: &problems)
        guard problems.isEmpty, let id else { throw APIError.badRequest(problems) }
        let ended = try await logout.endSession(organizationID: call.key.organizationID, sessionID: id, origin: call.origin)
        return try .json(.created, Ended(sessionsEnded: ended.sessionsEnded, revocationId: ended.revocationID))
    }

    struct Unlocked: Encodable {
        let success = true
        let wasLocked: Bool
    }

    private func unlock(_ call: AdminCall) async throws -> Reply {
        var problems: [String] = []
        guard let phone = call.body!.requiredPhone("userPhoneNumber", problems: &problems) else { throw APIError.badRequest(problems) }
        return try .json(.ok, Unlocked(wasLocked: try await logout.unlock(organizationID: call.key.organizationID, phone: phone, origin: call.origin)))
    }

    struct EveryoneLoggedOut: Encodable {
        let success = true
        let membersAffected: Int
        let sessionsEnded: Int
        let revocationId: String
    }

    private func logOutEveryone(_ call: AdminCall) async throws -> Reply {
        let body = call.body!
        var problems: [String] = []
        let reason = body.requiredString("reason", problems: &problems)
        if let reason, reason.count > 500 { problems.append("reason must be at most 500 characters") }
        let includeOwner = body.optionalBool("includeOwner", problems: &problems) ?? false
        guard problems.isEmpty, let reason else { throw APIError.badRequest(problems) }
        let result = try await logout.logOutEveryone(organizationID: call.key.organizationID, reason: reason, includeOwner: includeOwner, origin: call.origin)
        return try .json(
            .created, EveryoneLoggedOut(membersAffected: result.membersAffected, sessionsEnded: result.sessionsEnded, revocationId: result.revocationID))
    }
}
