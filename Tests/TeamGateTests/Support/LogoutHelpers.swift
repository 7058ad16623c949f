import Foundation

@testable import TeamGate

extension Logout {
    /// The seed's call as the API makes it: the key is authenticated first, then the logout runs with it.
    func logOut(apiKey secret: String, phone: PhoneNumber, lockForMinutes: Int? = nil, services: TeamGateServices) async throws -> EndedMemberSessions {
        let key = try await services.apiKeys.authenticate(secret: secret)
        return try await logOut(phone, organizationID: key.organizationID, lockForMinutes: lockForMinutes, origin: RequestOrigin(actor: .apiKey(key)))
    }
}

/// Names written in tests are literals that are valid names; a wrong one stops the test at once.
extension MemberName: ExpressibleByStringLiteral {
    public init(stringLiteral text: String) {
        do {
            try self.init(parsing: text)
        } catch {
            preconditionFailure("not a valid name in a test: \(text)")
        }
    }
}
