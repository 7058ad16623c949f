import Foundation
import Hummingbird

/// `GET /revocations/{id}`: which devices a logout ended, and which of them were told and confirmed.
struct RevocationsController: Sendable {
    let store: any TeamGateStore
    let gate: AdminGate

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

    func register(on router: Router<TeamGateRequestContext>, routes: RouteTable) {
        router.on(.get, "/revocations/{id}", routes: routes) { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await gate.handle(request, context, readsBody: false) { call in
                guard let sessions = try await store.revocation(id: id, organizationID: call.key.organizationID) else {
                    throw TeamGateError.notFound("Revocation not found")
                }
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
    }
}
