import Foundation

@testable import TeamGate

extension Logout {
    /// The seed's call as the API makes it: the key is authenticated first, then the logout runs with it.
    func logOut(apiKey secret: String, phone: PhoneNumber, lockForMinutes: Int? = nil, services: TeamGateServices) async throws -> EndedMemberSessions {
        let key = try await services.apiKeys.authenticate(secret: secret)
        return try await logOut(phone, by: key, lockForMinutes: lockForMinutes, origin: RequestOrigin(actor: key.actorLabel))
    }
}
