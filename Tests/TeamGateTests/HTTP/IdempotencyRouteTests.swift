import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import TeamGate

@Suite("Idempotency-Key across a restart and between racing retries")
struct IdempotencyRouteTests {
    static let replayed = HTTPField.Name("Idempotent-Replayed")!
    static let body = #"{"userPhoneNumber":"+919311111111"}"#

    @Test("after a restart on the same database, the same key replays the first answer and does not log out again")
    func replayAfterRestart() async throws {
        // setup: a logout with a key, then the process stops
        let environment = try TestEnvironment()
        let first = try await environment.openServices()
        let team = try await SeededTeam.make(first)
        let original = try await environment.withLiveServer(first) { client in
            try await client.admin(.post, "/team-member/logout", key: team.apiKey, body: Self.body, idempotencyKey: "restart-1")
        }
        #expect(original.status == .created)
        await first.close()
        // act: a new process on the same database; Meera has signed in again meanwhile
        let restarted = try await environment.openServices()
        let newToken = try await restarted.signIn.openSession(for: team.meera, deviceName: "new phone")
        try await environment.withLiveServer(restarted) { client in
            let retry = try await client.admin(.post, "/team-member/logout", key: team.apiKey, body: Self.body, idempotencyKey: "restart-1")
            // check
            #expect(retry.status == .created)
            #expect(retry.headers[Self.replayed] == "true")
            #expect(retry.text == original.text)
            #expect(try await client.get("/me", bearer: newToken).status == .ok)
        }
        let logouts = try await restarted.directory.auditEvents(organizationID: team.organization.id).filter { $0.action == .memberLoggedOut }
        #expect(logouts.count == 1)
    }

    @Test("retries racing with one key: one does the work, the others get 409 in flight or its replay; one revocation ends the sessions")
    func concurrentRetries() async throws {
        // setup
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let answers = try await environment.withLiveServer(services) { client in
            // act: eight copies of one request at once
            try await withThrowingTaskGroup(of: TestResponse.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await client.admin(.post, "/team-member/logout", key: team.apiKey, body: Self.body, idempotencyKey: "race-1")
                    }
                }
                var answers: [TestResponse] = []
                for try await answer in group { answers.append(answer) }
                return answers
            }
        }
        // check: exactly one did the work; every other answer is a refusal to run twice or that same answer
        let worked = answers.filter { $0.status == .created && $0.headers[Self.replayed] == nil }
        #expect(worked.count == 1)
        let work = try #require(worked.first)
        #expect(work.json["sessionsEnded"] as? Int == 2)
        let revocationID = try #require(work.json["revocationId"] as? String)
        for answer in answers where answer.headers[Self.replayed] != nil || answer.status != .created {
            let inFlight = answer.status == .conflict
            let replay = answer.status == .created && answer.headers[Self.replayed] == "true" && answer.text == work.text
            #expect(inFlight || replay, "\(answer.status) \(answer.text)")
        }
        let logouts = try await services.directory.auditEvents(organizationID: team.organization.id).filter { $0.action == .memberLoggedOut }
        #expect(logouts.count == 1)
        let sessions = try await services.store.sessions(memberID: team.meera.id)
        #expect(sessions.count == 2)
        #expect(sessions.allSatisfy { $0.endedAt != nil && $0.revocationID == revocationID })
    }
}
