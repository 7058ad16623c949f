import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import TeamGate

@Suite("Limits")
struct LimitsTests {
    @Test("an API key past its burst gets 429 with Retry-After and RateLimit headers; another key is not slowed")
    func rateLimit() async throws {
        var environment = try TestEnvironment()
        // One token per 5 s: a slow, loaded machine cannot refill the bucket between the requests.
        environment.configuration.rateLimitPerSecond = 0.2
        environment.configuration.rateLimitBurst = 3
        let services = try await environment.openServices()
        let acme = try await SeededTeam.make(services, name: "Acme", phoneSuffix: "1")
        let globex = try await SeededTeam.make(services, name: "Globex", phoneSuffix: "2")
        try await environment.withLiveServer(services) { client in
            var statuses: [Int] = []
            for _ in 0..<5 { statuses.append(Int(try await client.logout(phone: "+919399999999", key: acme.apiKey).status.code)) }
            #expect(statuses.prefix(3).allSatisfy { $0 == 422 })
            #expect(statuses.last == 429)
            let limited = try await client.admin(.get, "/team", key: acme.apiKey)
            #expect(limited.status == .tooManyRequests)
            #expect((1...5).contains(Int(limited.headers[.retryAfter] ?? "") ?? 0))
            #expect(limited.headers[HTTPField.Name("RateLimit-Limit")!] == "3")
            #expect(limited.headers[HTTPField.Name("RateLimit-Remaining")!] == "0")
            #expect(limited.json["statusCode"] as? Int == 429)
            #expect(try await client.admin(.get, "/team", key: globex.apiKey).status == .ok)
        }
    }
}
