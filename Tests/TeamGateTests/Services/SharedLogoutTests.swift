import Foundation
import Synchronization
import Testing

@testable import TeamGate

/// Logouts that share a group commit share their statements: they must answer exactly as if they ran one
/// after the other. On SQLite and on PostgreSQL.
@Suite("Logouts sharing a group commit")
struct SharedLogoutTests {
    @Test("a batch answers as in order: a member asked twice, a revoked key, a stranger, each as alone", arguments: TestBackend.available)
    func inOrder(backend: TestBackend) async throws {
        let environment = try TestEnvironment(backend: backend)
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let live = try await services.apiKeys.authenticate(secret: team.apiKey)
        let spare = try await services.directory.createAPIKey(organizationID: team.organization.id, name: "spare")
        _ = try await services.directory.revokeAPIKey(organizationID: team.organization.id, idOrPrefix: spare.key.id)
        let now = environment.clock.now
        func request(_ phone: PhoneNumber, key: APIKey, reason: String) -> Logout.Request {
            Logout.Request(
                organizationID: team.organization.id, phone: phone, reason: reason, lockForMinutes: nil,
                origin: RequestOrigin(actor: .apiKey(key)), revocationID: SecretToken.identifier(prefix: "rev_"), at: now)
        }
        let requests = [
            request(team.meera.phone, key: live, reason: "first"),
            request(team.meera.phone, key: live, reason: "second"),
            request(team.rohan.phone, key: spare.key, reason: "revoked key"),
            request(try PhoneNumber(parsing: "+91 90000 12345"), key: live, reason: "stranger"),
        ]

        let committed = try await services.store.perform { work in try Logout.logOut(requests, in: work) }

        let results = committed.value
        guard case .done(let first) = results[0].output, case .done(let second) = results[1].output else {
            Issue.record("both asks for Meera should be done: \(results.map(\.output))")
            return
        }
        #expect(first.sessionsEnded == 2 && results[0].endedSessions.count == 2)
        #expect(second.sessionsEnded == 0 && results[1].endedSessions.isEmpty)
        #expect(results[0].endedSessions.allSatisfy { $0.revocationID == requests[0].revocationID && $0.memberID == team.meera.id })
        guard case .refused(.invalidAPIKey) = results[2].output, case .refused(.notATeamMember) = results[3].output else {
            Issue.record("the revoked key and the stranger should be refused: \(results.map(\.output))")
            return
        }
        #expect(Set(committed.endedSessions.map(\.tokenHash)) == Set(team.meeraTokens.map(SecretToken.hash)))
        let meeraSessions = try await services.store.sessions(memberID: team.meera.id)
        #expect(meeraSessions.allSatisfy { $0.endReason == .adminLogout && $0.revocationID == requests[0].revocationID })
        #expect(try await services.store.sessions(memberID: team.rohan.id).allSatisfy { $0.endedAt == nil })
        let audits = try await services.directory.auditEvents(organizationID: team.organization.id).filter { $0.action == .memberLoggedOut }
        #expect(Set(audits.map(\.reason)) == ["first", "second"])
        #expect(audits.first { $0.reason == "first" }?.sessionsEnded == 2)
        #expect(audits.first { $0.reason == "second" }?.sessionsEnded == 0)
        for token in team.meeraTokens {
            await #expect(throws: TeamGateError.sessionEnded(.adminLogout)) { try await services.signIn.currentSession(token: token) }
        }
        await services.close()
    }

    @Test("writes of one kind queued behind a commit run as one call; a failing one makes them run alone, and only it fails")
    func sharedWrites() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let store = try #require(services.store as? SQLStore)
        let calls = Atomic<Int>(0)
        let kind = SharedUnitOfWork<Int, Int>(name: "test.audit") { work, inputs in
            calls.add(1, ordering: .relaxed)
            if inputs.contains(13) { throw TeamGateError.validation(["thirteen"]) }
            try work.appendAudits(
                inputs.map {
                    .make(.memberLoggedOut, organizationID: team.organization.id, at: environment.clock.now, origin: RequestOrigin(actor: .commandLine(label: "test")), reason: "\($0)")
                })
            return inputs.map { ($0 * 2, []) }
        }
        for round in [0..<10, 10..<20] {
            calls.store(0, ordering: .relaxed)
            // A slow write holds the writer, so the shared ones all queue for the next batch.
            async let holding: Void = store.perform { _ in Thread.sleep(forTimeInterval: 0.3) }.value
            try await Task.sleep(for: .milliseconds(50))
            let outcomes = await withTaskGroup(of: (Int, Result<Int, TeamGateError>).self) { group in
                for input in round {
                    group.addTask {
                        do {
                            return (input, .success(try await store.perform(input, sharing: kind).value))
                        } catch {
                            return (input, .failure(error as? TeamGateError ?? .validation(["\(error)"])))
                        }
                    }
                }
                return await group.reduce(into: [Int: Result<Int, TeamGateError>]()) { $0[$1.0] = $1.1 }
            }
            try await holding
            for input in round {
                #expect(outcomes[input] == (input == 13 ? .failure(.validation(["thirteen"])) : .success(input * 2)), "input \(input)")
            }
            // Together once; with 13 among them, together once and then each alone.
            #expect(calls.load(ordering: .relaxed) == (round.contains(13) ? 1 + 10 : 1))
        }
        let audits = try await services.directory.auditEvents(organizationID: team.organization.id, limit: 1000).filter { $0.actor == "test" }
        #expect(Set(audits.compactMap(\.reason)) == Set((0..<20).filter { $0 != 13 }.map(String.init)))
        await services.close()
    }
}
