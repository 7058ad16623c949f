import Foundation
import Testing

@testable import TeamGate

@Suite("API keys seen valid")
struct APIKeysTests {
    @Test("a key revoked by another process ends nothing at once, and is refused everywhere once its second in memory is over")
    func revokedElsewhere() async throws {
        // setup: instance A has just seen the key valid; instance B (another process on the same database) revokes it
        let environment = try TestEnvironment()
        let a = try await environment.openServices()
        let b = try await environment.openServices()
        let team = try await SeededTeam.make(a)
        let key = try await a.apiKeys.authenticate(secret: team.apiKey)
        _ = try await b.directory.revokeAPIKey(organizationID: team.organization.id, idOrPrefix: key.id)

        // act and check: within the second A still trusts, the logout's own transaction refuses the key
        await #expect(throws: TeamGateError.invalidAPIKey) {
            try await a.logout.logOut(team.meera.phone, organizationID: team.organization.id, origin: RequestOrigin(actor: .apiKey(try await a.apiKeys.authenticate(secret: team.apiKey))))
        }
        #expect(try await a.directory.sessions(of: team.meera).allSatisfy { $0.endedAt == nil })
        // and once the second is over, A reads the key again and refuses it for every route
        environment.clock.advance(by: SeenAPIKeys.freshFor + 0.1)
        await #expect(throws: TeamGateError.invalidAPIKey) { try await a.apiKeys.authenticate(secret: team.apiKey) }
        for services in [a, b] { await services.close() }
    }

    @Test("a key's use is written once a minute, not at every request")
    func useIsCoalesced() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let first = environment.clock.now

        for _ in 0..<3 { _ = try await services.apiKeys.authenticate(secret: team.apiKey) }
        environment.clock.advance(by: 30)
        _ = try await services.apiKeys.authenticate(secret: team.apiKey)
        let afterHalfAMinute = try #require(try await services.directory.apiKeys(organizationID: team.organization.id).first?.lastUsedAt)
        environment.clock.advance(by: 31)
        _ = try await services.apiKeys.authenticate(secret: team.apiKey)
        let afterAMinute = try #require(try await services.directory.apiKeys(organizationID: team.organization.id).first?.lastUsedAt)

        #expect(abs(afterHalfAMinute.timeIntervalSince(first)) < 0.01)
        #expect(abs(afterAMinute.timeIntervalSince(first.addingTimeInterval(61))) < 0.01)
    }
}
