import Foundation

/// The seed's use case: an admin, holding the organisation's API key, ends a member's sessions.
public struct Logout: Sendable {
    let store: any TeamGateStore
    let clock: WallClock

    public init(store: any TeamGateStore, clock: WallClock = .system) {
        self.store = store
        self.clock = clock
    }

    /// The key behind a presented secret, if it is known and not revoked.
    public func authenticate(apiKey secret: String) async throws -> APIKey {
        guard let key = try await store.apiKey(secretHash: SecretToken.hash(secret)), !key.isRevoked else {
            throw TeamGateError.invalidAPIKey
        }
        return key
    }

    /// Ends every live session of the member with `phone` in the key's organisation, durably.
    /// Idempotent: a member with no live session gets `sessionsEnded == 0`.
    public func logOut(
        apiKey secret: String,
        phone: PhoneNumber,
        requestID: String? = nil,
        clientIP: String? = nil
    ) async throws -> EndedMemberSessions {
        try await store.endMemberSessions(
            EndMemberSessionsCommand(
                apiKeySecretHash: SecretToken.hash(secret),
                phone: phone,
                reason: .adminLogout,
                at: clock.now(),
                revocationID: SecretToken.identifier(prefix: "rev_"),
                requestID: requestID,
                clientIP: clientIP
            )
        )
    }
}
