import Foundation
import HummingbirdTesting
import Testing

@testable import TeamGate

@Suite("SQLite store")
struct SQLiteStoreTests {
    @Test("a restart on the same file keeps ended sessions ended, live ones live, and keys valid")
    func restart() async throws {
        // setup: a logout, then the process "stops"
        let environment = try TestEnvironment()
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

    @Test("200 concurrent sign-ins and logouts lose no write")
    func concurrentWrites() async throws {
        // setup: 100 members
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        var members: [TeamMember] = []
        for index in 0..<100 {
            members.append(
                try await services.directory.addMember(
                    organizationID: team.organization.id, name: "Agent \(index)", phone: try PhoneNumber(parsing: "+9194\(10_000_000 + index)")))
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

    @Test("in one group commit, a failing write does not undo the others")
    func isolatedFailures() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let duplicate = team.meera.phone
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<50 {
                group.addTask {
                    do {
                        let phone = index.isMultiple(of: 5) ? duplicate : try PhoneNumber(parsing: "+9195\(10_000_000 + index)")
                        _ = try await services.directory.addMember(organizationID: team.organization.id, name: "Agent \(index)", phone: phone)
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
}
