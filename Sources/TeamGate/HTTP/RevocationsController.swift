import Foundation
import Hummingbird

/// `GET /revocations/{id}`: which devices a logout ended, and which of them were told and confirmed.
struct RevocationsController: Sendable {
    let logout: Logout

    func addRoutes(to routes: Routes<AdminRequestContext>) {
        routes.on(.get, "/revocations/{id}", use: revocation)
    }

    struct RevocationBody: Encodable {
        struct Device: Encodable {
            let sessionId: String
            let deviceName: String
            let memberPhoneNumber: String
            let reason: String?
            let endedAt: Date?
            let notifiedAt: Date?
            let acknowledgedAt: Date?
        }

        let id: String
        let sessions: [Device]
    }

    @Sendable func revocation(_ request: Request, context: AdminRequestContext) async throws -> Reply {
        let id = try context.parameters.require("id")
        let sessions = try await logout.revocation(id: id, organizationID: context.organizationID)
        return try .json(
            .ok,
            RevocationBody(
                id: id,
                sessions: sessions.map {
                    .init(
                        sessionId: $0.sessionID, deviceName: $0.deviceName, memberPhoneNumber: $0.memberPhone.e164, reason: $0.reason?.rawValue,
                        endedAt: $0.endedAt, notifiedAt: $0.notifiedAt, acknowledgedAt: $0.acknowledgedAt)
                }))
    }
}
