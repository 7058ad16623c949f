import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import TeamGate

/// The defects of "One actor, one rule", each through its door.
@Suite("One actor, one rule, at the doors")
struct OneRuleRouteTests {
    @Test("POST /team/members refuses a name with a control character, as the CLI does")
    func controlCharactersInName() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            // act
            let bell = try await client.admin(
                .post, "/team/members", key: team.apiKey, body: #"{"members":[{"name":"Eve\u0007","phone":"+919344444449","orgRoleId":3}]}"#)
            // check
            #expect(sameJSON(bell, #"{"statusCode":400,"message":["members.0.name must be 1–200 printable characters"],"error":"Bad Request"}"#))
            #expect(try await client.admin(.get, "/team/member?agentNumber=919344444449", key: team.apiKey).status == .notFound)
        }
    }

    @Test("POST /team/logout-all queues team_member.logged_out for each member whose sessions ended")
    func logOutEveryoneQueuesWebhooks() async throws {
        // setup: a webhook for logouts, to a loopback receiver the operator allows
        let environment = try TestEnvironment.allowingLoopbackWebhooks()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let webhook = try await services.webhooks.create(
            organizationID: team.organization.id, url: "http://127.0.0.1:9/hook", events: [.teamMemberLoggedOut], origin: .cli)
        try await environment.withLiveServer(services) { client in
            // act
            let everyone = try await client.admin(.post, "/team/logout-all", key: team.apiKey, body: #"{"reason":"Drill"}"#)
            // check: Meera (2 devices) and Rohan (1), not the spared Owner
            #expect(everyone.status == .created)
            let queued = try await services.webhooks.deliveries(organizationID: team.organization.id, id: webhook.id, origin: .cli)
            #expect(queued.count == 2)
            #expect(queued.allSatisfy { $0.event == .teamMemberLoggedOut })
            let payloads = queued.map(\.payload)
            #expect(payloads.contains { $0.contains(#""memberId":"\#(team.meera.id)""#) && $0.contains(#""sessionsEnded":2"#) })
            #expect(payloads.contains { $0.contains(#""memberId":"\#(team.rohan.id)""#) && $0.contains(#""sessionsEnded":1"#) })
            #expect(payloads.allSatisfy { $0.contains(#""reason":"Drill""#) && $0.contains(#""endReason":"org_logout""#) })
        }
    }

    @Test("the console's audit filter refuses a malformed number as the API does, instead of dropping the filter")
    func consoleAuditFilter() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            #expect(try await client.logout(phone: "+919311111111", key: team.apiKey).status == .created)
            let session = try await SecurityRouteTests.consoleSession(client, environment, team.owner.phone)
            // act
            let malformed = try await client.execute(uri: "/console/audit?member=not-a-number", method: .get, headers: [.cookie: session.cookie])
            let api = try await client.admin(.get, "/audit-events?memberPhoneNumber=not-a-number", key: team.apiKey)
            // check: both 400, and the page lists nothing rather than everything
            #expect(malformed.status == .badRequest)
            let page = String(buffer: malformed.body)
            #expect(page.contains("member must be a valid phone number with country code"))
            #expect(!page.contains("member.logged_out</code>"))
            #expect(api.status == .badRequest)
            let filtered = try await client.execute(uri: "/console/audit?member=%2B919311111111", method: .get, headers: [.cookie: session.cookie])
            #expect(filtered.status == .ok && String(buffer: filtered.body).contains("member.logged_out</code>"))
        }
    }

    @Test("a session's state is read on the injected clock: past its expiry it is listed as expired")
    func sessionStateOnTheClock() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let before = try await client.admin(.get, "/team-member/sessions?userPhoneNumber=919322222221", key: team.apiKey)
            #expect(before.data.map { $0["state"] as? String } == ["active"])
            // act: past the session's lifetime, on the services' clock only
            environment.clock.advance(by: SignIn.Policy().sessionLifetime + 60)
            let after = try await client.admin(.get, "/team-member/sessions?userPhoneNumber=919322222221", key: team.apiKey)
            // check
            #expect(after.data.map { $0["state"] as? String } == ["expired"])
        }
    }

    @Test("the per-key rate refills on the injected clock, not the wall clock")
    func rateLimiterOnTheClock() throws {
        let clock = TestClock()
        let limiter = RateLimiter(perSecond: 1, burst: 2, clock: clock.wallClock)
        try limiter.take(secret: "key_a")
        try limiter.take(secret: "key_a")
        #expect(throws: APIError.self) { try limiter.take(secret: "key_a") }
        try limiter.take(secret: "key_b")
        clock.advance(by: 1.5)
        try limiter.take(secret: "key_a")
    }
}
