import Foundation
import HummingbirdTesting
import Testing

@testable import TeamGate

/// The store's behaviour, the same on both backends: every test here runs on SQLite and on PostgreSQL
/// (scripts/test starts one; without it, SQLite alone). The whole suite also runs on PostgreSQL once.
@Suite("Store conformance: SQLite and PostgreSQL")
struct StoreConformanceTests {
    @Test("a run that asks for PostgreSQL gets it: the backend named exists, and the server named answers")
    func postgresAskedForIsThere() async {
        // A missing, misspelt or dead server must fail the run, not quietly shrink it to SQLite.
        for problem in TestBackend.problems(in: ProcessInfo.processInfo.environment) {
            Issue.record(Comment(rawValue: problem))
        }
        if let server = TestBackend.postgresServer {
            do {
                try await PostgresTestServer.ping(server)
            } catch {
                Issue.record("TEAMGATE_TEST_POSTGRES=\(server) does not answer: \(String(reflecting: error))")
            }
        }
    }

    @Test(
        "settings that would quietly test less are problems naming what is wrong",
        arguments: [
            (["TEAMGATE_TEST_BACKEND": "postgress"], "TEAMGATE_TEST_BACKEND=postgress"),
            (
                ["TEAMGATE_TEST_BACKEND": "PostgreSQL", "TEAMGATE_TEST_POSTGRES": "postgres://postgres@127.0.0.1:5432/postgres"],
                "TEAMGATE_TEST_BACKEND=PostgreSQL"
            ),
            (["TEAMGATE_TEST_BACKEND": ""], "TEAMGATE_TEST_BACKEND="),
            (["TEAMGATE_TEST_BACKEND": "postgres"], "TEAMGATE_TEST_POSTGRES is not set"),
            (["TEAMGATE_TEST_POSTGRES": "localhost:5432"], "TEAMGATE_TEST_POSTGRES is set but is not a postgres:// URL"),
            (["CI": "true"], "TEAMGATE_TEST_POSTGRES is not"),
        ]
    )
    func misconfiguredRunsAreProblems(environment: [String: String], named: String) {
        let problems = TestBackend.problems(in: environment)
        #expect(problems.contains { $0.contains(named) }, "\(problems)")
    }

    @Test("an unknown TEAMGATE_TEST_BACKEND is an error naming it, never SQLite; unset is SQLite, and both names are taken")
    func unknownBackendIsAnError() throws {
        #expect(throws: UnknownTestBackend(value: "postgress")) { try TestBackend.requested(in: ["TEAMGATE_TEST_BACKEND": "postgress"]) }
        #expect(try TestBackend.requested(in: [:]) == .sqlite)
        #expect(try TestBackend.requested(in: ["TEAMGATE_TEST_BACKEND": "sqlite"]) == .sqlite)
        #expect(try TestBackend.requested(in: ["TEAMGATE_TEST_BACKEND": "postgres"]) == .postgres)
        let scriptsTest = ["TEAMGATE_TEST_BACKEND": "postgres", "TEAMGATE_TEST_POSTGRES": "postgres://postgres@127.0.0.1:55431/postgres"]
        #expect(TestBackend.problems(in: scriptsTest).isEmpty)
    }

    @Test("a PostgreSQL server that does not answer is an error, not a skip")
    func deadServerIsAnError() async throws {
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        let dead = try #require(PostgresURL("postgres://postgres@127.0.0.1:1/postgres"))
        await #expect(throws: (any Error).self) { try await PostgresTestServer.ping(dead) }
    }

    @Test("a restart keeps ended sessions ended, live ones live, and keys valid", arguments: TestBackend.available)
    func restart(backend: TestBackend) async throws {
        // setup: a logout, then the process "stops"
        let environment = try TestEnvironment(backend: backend)
        var team: SeededTeam?
        do {
            let services = try await environment.openServices()
            let seeded = try await SeededTeam.make(services)
            team = seeded
            try await environment.withLiveServer(services) { client in
                let response = try await client.logout(phone: seeded.meera.phone.e164, key: seeded.apiKey)
                #expect(response.status == .created)
            }
        }
        let seeded = try #require(team)
        // act: a new process opens the same file
        let reopened = try await environment.openServices()
        // check
        try await environment.withLiveServer(reopened) { client in
            for token in seeded.meeraTokens {
                let me = try await client.get("/me", bearer: token)
                #expect(me.status == .unauthorized)
                #expect(me.json["reason"] as? String == "admin_logout")
            }
            #expect(try await client.get("/me", bearer: seeded.rohanTokens[0]).status == .ok)
            #expect(try await client.logout(phone: seeded.rohan.phone.e164, key: seeded.apiKey).status == .created)
            #expect(try await client.get("/me", bearer: seeded.rohanTokens[0]).status == .unauthorized)
        }
    }

    @Test("200 concurrent sign-ins and logouts lose no write", arguments: TestBackend.available)
    func concurrentWrites(backend: TestBackend) async throws {
        // setup: 100 members
        let environment = try TestEnvironment(backend: backend)
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        var members: [TeamMember] = []
        for index in 0..<100 {
            members.append(
                try await services.directory.addMember(
                    organizationID: team.organization.id, name: try MemberName(parsing: "Agent \(index)"), phone: try PhoneNumber(parsing: "+9194\(10_000_000 + index)")))
        }
        let everyone = members
        // act: for each member, a sign-in and a logout race over real HTTP
        let results = try await environment.withLiveServer(services) { client in
            try await withThrowingTaskGroup(of: (String, Int, String?).self) { group in
                for member in everyone {
                    group.addTask {
                        let token = try await services.signIn.openSession(for: member, deviceName: "phone")
                        return (member.id, 0, token)
                    }
                    group.addTask {
                        let response = try await client.logout(phone: member.phone.e164, key: team.apiKey)
                        return (member.id, Int(response.status.code), nil)
                    }
                }
                var results: [(String, Int, String?)] = []
                for try await result in group { results.append(result) }
                return results
            }
        }
        // check: every logout answered 201, and each member's session is either ended by the logout that
        // followed it or still live, with disk and memory agreeing; one audit event per write.
        #expect(results.filter { $0.1 == 201 }.count == 100)
        let reopened = try await environment.openServices()
        for member in everyone {
            let sessions = try await services.store.sessions(memberID: member.id)
            #expect(sessions.count == 1)
            let token = try #require(results.first { $0.0 == member.id && $0.2 != nil }?.2)
            let liveInMemory = try await services.store.liveSession(tokenHash: SecretToken.hash(token), at: environment.clock.now) != nil
            let liveAfterRestart = try await reopened.store.liveSession(tokenHash: SecretToken.hash(token), at: environment.clock.now) != nil
            #expect(liveInMemory == (sessions[0].endedAt == nil))
            #expect(liveAfterRestart == liveInMemory)
        }
        let events = try await services.directory.auditEvents(organizationID: team.organization.id, limit: 10_000)
        #expect(events.filter { $0.action == .memberLoggedOut }.count == 100)
        #expect(events.filter { $0.action == .memberSignedIn }.count == 100 + 3)
    }

    @Test("in one group commit, a failing write does not undo the others", arguments: TestBackend.available)
    func isolatedFailures(backend: TestBackend) async throws {
        let environment = try TestEnvironment(backend: backend)
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let duplicate = team.meera.phone
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<50 {
                group.addTask {
                    do {
                        let phone = index.isMultiple(of: 5) ? duplicate : try PhoneNumber(parsing: "+9195\(10_000_000 + index)")
                        _ = try await services.directory.addMember(organizationID: team.organization.id, name: try MemberName(parsing: "Agent \(index)"), phone: phone)
                        return true
                    } catch TeamGateError.memberExists {
                        return false
                    }
                }
            }
            var added = 0
            for try await ok in group where ok { added += 1 }
            #expect(added == 40)
        }
        #expect(try await services.directory.members(organizationID: team.organization.id).count == 3 + 40)
    }

    @Test("of two codes sent in the same millisecond, only the newer signs in", arguments: TestBackend.available)
    func newestCodeWins(backend: TestBackend) async throws {
        let environment = try TestEnvironment(backend: backend)
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let phone = team.rohan.phone
        // The test clock stands still: both codes carry the same time.
        try await services.signIn.sendCode(phone: phone)
        let older = try await environment.code(for: phone)
        try await services.signIn.sendCode(phone: phone)
        let newer = try await environment.code(for: phone)
        try #require(older != newer)
        await #expect(throws: TeamGateError.self) {
            try await services.signIn.signIn(phone: phone, code: older, deviceName: "phone", organizationID: nil, userAgent: nil, ipAddress: nil)
        }
        let signedIn = try await services.signIn.signIn(
            phone: phone, code: newer, deviceName: "phone", organizationID: nil, userAgent: nil, ipAddress: nil)
        #expect(signedIn.session.memberID == team.rohan.id)
    }

    @Test("a saved answer for an idempotency key is replaced once the window has passed", arguments: TestBackend.available)
    func idempotencyReplaced(backend: TestBackend) async throws {
        let environment = try TestEnvironment(backend: backend)
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let first = IdempotencyRecord(requestHash: Data([1]), status: 201, body: Data("first".utf8), createdAt: environment.clock.now)
        try await services.store.saveIdempotencyRecord(first, organizationID: team.organization.id, key: "k1")
        let later = environment.clock.now.addingTimeInterval(25 * 3600)
        let second = IdempotencyRecord(requestHash: Data([2]), status: 200, body: Data("second".utf8), createdAt: later)
        try await services.store.saveIdempotencyRecord(second, organizationID: team.organization.id, key: "k1")
        let stored = try await services.store.idempotencyRecord(
            organizationID: team.organization.id, key: "k1", notBefore: later.addingTimeInterval(-60))
        // Times are kept to the millisecond.
        #expect(stored?.requestHash == second.requestHash && stored?.status == 200 && stored?.body == second.body)
        #expect(stored?.createdAt.millisecondsSince1970 == later.millisecondsSince1970)
    }

    @Test("secrets are kept as hashes: a key is found by its hash, a revoked one stays known but revoked", arguments: TestBackend.available)
    func keysByHash(backend: TestBackend) async throws {
        let environment = try TestEnvironment(backend: backend)
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let key = try #require(try await services.store.apiKey(secretHash: SecretToken.hash(team.apiKey)))
        #expect(key.organizationID == team.organization.id && !key.isRevoked)
        _ = try await services.directory.revokeAPIKey(organizationID: team.organization.id, idOrPrefix: key.id)
        #expect(try await services.store.apiKey(secretHash: SecretToken.hash(team.apiKey))?.isRevoked == true)
        #expect(try await services.store.apiKey(secretHash: SecretToken.hash("tgk_unknown")) == nil)
    }

    @Test("dispatchers polling together claim each due webhook delivery once", arguments: TestBackend.available)
    func deliveriesClaimedOnce(backend: TestBackend) async throws {
        // setup: 20 logouts queue 20 deliveries; two instances of the store (one SQLite file can have only one)
        let environment = try TestEnvironment(backend: backend)
        let first = try await environment.openServices()
        let second = backend == .postgres ? try await environment.openServices() : first
        let team = try await SeededTeam.make(first)
        _ = try await first.webhooks.create(
            organizationID: team.organization.id, url: "https://hooks.example.com/tg", events: [.teamMemberLoggedOut], origin: .cli)
        for _ in 0..<20 { _ = try await first.logout.logOut(apiKey: team.apiKey, phone: team.rohan.phone, services: first) }

        // act: both claim at once
        let now = environment.clock.now
        async let claimedByFirst = first.store.claimDueDeliveries(at: now, limit: 50, lease: 60)
        async let claimedBySecond = second.store.claimDueDeliveries(at: now, limit: 50, lease: 60)
        let (a, b) = try await (claimedByFirst.map(\.0.id), claimedBySecond.map(\.0.id))

        // check: every delivery went to exactly one; none is due again within the lease, all are after it
        #expect(a.count + b.count == 20)
        #expect(Set(a).isDisjoint(with: b))
        #expect(try await first.store.claimDueDeliveries(at: now.addingTimeInterval(59), limit: 50, lease: 60).isEmpty)
        if backend == .postgres {
            // There the database's clock leases (instances' clocks may disagree), so the test clock moves nothing:
            // every lease ends a minute after PostgreSQL's now.
            let store = try #require(second.store as? SQLStore)
            let left = try await store.backend.read { db in
                try db.rows("SELECT next_attempt_at - CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) AS left_ms FROM webhook_deliveries", [])
                    .map { row -> Int64 in row["left_ms"] }
            }
            #expect(left.count == 20 && left.allSatisfy { (50_000...60_000).contains($0) }, "\(left)")
        } else {
            #expect(try await second.store.claimDueDeliveries(at: now.addingTimeInterval(61), limit: 50, lease: 60).count == 20)
        }
        await first.close()
        await second.close()
    }

    @Test("each webhook's newest deliveries come in one read: the same as asking webhook by webhook, only the organisation's", arguments: TestBackend.available)
    func recentDeliveries(backend: TestBackend) async throws {
        // setup: two webhooks of Acme, one of Globex, and twelve messages for Acme a second apart
        let environment = try TestEnvironment(backend: backend)
        let services = try await environment.openServices()
        let acme = try await SeededTeam.make(services, name: "Acme", phoneSuffix: "1")
        let globex = try await SeededTeam.make(services, name: "Globex", phoneSuffix: "2")
        let first = try await services.webhooks.create(
            organizationID: acme.organization.id, url: "https://93.184.216.34/first", events: [.teamMemberLoggedOut], origin: .cli)
        let second = try await services.webhooks.create(
            organizationID: acme.organization.id, url: "https://93.184.216.34/second", events: [.teamMemberLoggedOut, .sessionEnded], origin: .cli)
        let other = try await services.webhooks.create(
            organizationID: globex.organization.id, url: "https://93.184.216.34/other", events: [.teamMemberLoggedOut], origin: .cli)
        for number in 0..<12 {
            environment.clock.advance(by: 1)
            let message = WebhookMessage(organizationID: acme.organization.id, event: .teamMemberLoggedOut, data: ["n": .int(number)], at: environment.clock.now)
            _ = try await services.store.perform { work in try work.enqueueWebhook(message) }
        }

        // act
        let recent = try await services.webhooks.recentDeliveries(organizationID: acme.organization.id, limit: 10, origin: .cli)

        // check
        #expect(Set(recent.keys) == [first.id, second.id])
        for hook in [first, second] {
            let oneByOne = try await services.webhooks.deliveries(organizationID: acme.organization.id, id: hook.id, limit: 10, origin: .cli)
            #expect(recent[hook.id] == oneByOne)
            #expect(recent[hook.id]?.count == 10)
            #expect(recent[hook.id]?.first?.payload.contains(#""n":11"#) == true)
        }
        #expect(try await services.webhooks.recentDeliveries(organizationID: globex.organization.id, limit: 10, origin: .cli)[other.id] == nil)
        await services.close()
    }
}
