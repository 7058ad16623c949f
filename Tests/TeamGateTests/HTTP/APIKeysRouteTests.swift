import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import TeamGate

@Suite("GET /api-keys")
struct APIKeysRouteTests {
    @Test("lists the organisation's keys with their state and use, never a secret, and only its own")
    func listsKeys() async throws {
        // setup: Acme has its first key and a revoked one; Globex has its own
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let acme = try await SeededTeam.make(services, name: "Acme", phoneSuffix: "1")
        let globex = try await SeededTeam.make(services, name: "Globex", phoneSuffix: "2")
        let old = try await services.directory.createAPIKey(organizationID: acme.organization.id, name: "old integration")
        _ = try await services.directory.revokeAPIKey(organizationID: acme.organization.id, idOrPrefix: old.key.id)

        // act
        let response = try await environment.withLiveServer(services) { client in
            try await client.admin(.get, "/api-keys", key: acme.apiKey)
        }

        // check
        #expect(response.status == .ok)
        #expect(response.data.count == 2)
        let first = try #require(response.data.first { $0["name"] as? String == "first key" })
        #expect(first["state"] as? String == "active")
        #expect(first["prefix"] as? String == String(acme.apiKey.prefix(12)))
        #expect(first["lastUsedAt"] is String, "the listing call itself is a use of the key")
        #expect(first["revokedAt"] == nil)
        let revoked = try #require(response.data.first { $0["name"] as? String == "old integration" })
        #expect(revoked["state"] as? String == "revoked")
        #expect(revoked["revokedAt"] is String)
        #expect(!response.text.contains(acme.apiKey) && !response.text.contains(old.secret) && !response.text.contains(globex.apiKey))
        #expect(Set(response.data.compactMap { $0["id"] as? String }).isDisjoint(with: try await services.directory.apiKeys(organizationID: globex.organization.id).map(\.id)))
    }

    @Test("401 without a key or with a revoked one")
    func refusesWithoutKey() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            #expect(try await client.get("/api-keys").status == .unauthorized)
            _ = try await services.directory.revokeAPIKey(organizationID: team.organization.id, idOrPrefix: String(team.apiKey.prefix(12)))
            let refused = try await client.admin(.get, "/api-keys", key: team.apiKey)
            #expect(sameJSON(refused, #"{"statusCode":401,"message":"Invalid public api key","error":"Unauthorized"}"#))
        }
    }
}
