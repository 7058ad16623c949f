import Foundation
import Hummingbird

/// `GET /api-keys`: the organisation's keys as Settings → Developer Documentation lists them, never a secret.
struct APIKeysController: Sendable {
    let directory: TeamDirectory

    func addRoutes(to routes: Routes<AdminRequestContext>) {
        routes.on(.get, "/api-keys", use: list)
    }

    struct KeyBody: Encodable {
        let id: String
        let prefix: String
        let name: String
        let state: String
        let createdAt: Date
        let lastUsedAt: Date?
        let revokedAt: Date?

        init(_ key: APIKey) {
            id = key.id
            prefix = key.prefix
            name = key.name
            state = key.isRevoked ? "revoked" : "active"
            createdAt = key.createdAt
            lastUsedAt = key.lastUsedAt
            revokedAt = key.revokedAt
        }
    }

    struct KeyList: Encodable {
        let data: [KeyBody]
    }

    @Sendable func list(_ request: Request, context: AdminRequestContext) async throws -> Reply {
        try .json(.ok, KeyList(data: try await directory.apiKeys(organizationID: context.organizationID, origin: context.origin).map(KeyBody.init)))
    }
}
