import Foundation
import Testing

@testable import TeamGate

/// Several instances on one PostgreSQL database, in one process: each `openServices()` is an instance
/// with its own index and its own listening connection, as a second server process would have.
@Suite("Instances sharing PostgreSQL", .enabled(if: TestBackend.postgresServer != nil))
struct SharedPostgresTests {
    /// Instances A and B on one fresh database, with a team seeded through A.
    static func twoInstances() async throws -> (TestEnvironment, a: TeamGateServices, b: TeamGateServices, SeededTeam) {
        let environment = try TestEnvironment(backend: .postgres)
        let a = try await environment.openServices()
        let b = try await environment.openServices()
        return (environment, a, b, try await SeededTeam.make(a))
    }

    @Test("a session ended on one instance is refused by another at its next check, even with every notification lost")
    func noWindowWithoutNotifications() async throws {
        // setup: B has adopted Meera's session, and does not listen (its store's service, which follows
        // the other instances through NOTIFY and a periodic catch-up, is not running)
        let (environment, a, b, team) = try await Self.twoInstances()
        let token = team.meeraTokens[0]
        #expect(try await b.signIn.currentSession(token: token).member.id == team.meera.id)

        // act
        let ended = try await a.logout.logOut(apiKey: team.apiKey, phone: team.meera.phone, services: a)

        // check: refused at once on B, and after B restarts; Rohan's session still works on B
        #expect(ended.sessionsEnded == 2)
        await #expect(throws: TeamGateError.sessionEnded(.adminLogout)) { try await b.signIn.currentSession(token: token) }
        let restartedB = try await environment.openServices()
        await #expect(throws: TeamGateError.sessionEnded(.adminLogout)) { try await restartedB.signIn.currentSession(token: token) }
        #expect(try await b.signIn.currentSession(token: team.rohanTokens[0]).member.id == team.rohan.id)
        for services in [a, b, restartedB] { await services.close() }
    }

    @Test("a device connected to another instance hears its session end through LISTEN/NOTIFY, without any request there")
    func devicesOnAnotherInstanceHear() async throws {
        // setup: a device of Meera's listens on B, whose store follows the other instances (as in the server)
        let (_, a, b, team) = try await Self.twoInstances()
        let following = Task { try await b.store.run() }
        let live = try await b.signIn.currentSession(token: team.meeraTokens[0])
        let subscription = b.sessionEvents.subscribe(sessionID: live.sessionID)
        let heard = Task { () -> SessionEndedEvent? in
            for await event in subscription.events { return event }
            return nil
        }
        // act
        let ended = try await a.logout.logOut(apiKey: team.apiKey, phone: team.meera.phone, services: a)
        // The 2 s count from the logout's answer, not from before it: on a loaded machine the logout itself may take long.
        let timeout = Task {
            try await Task.sleep(for: .seconds(2))
            heard.cancel()
        }

        // check: within 2 s (well under the periodic catch-up's second, in practice milliseconds)
        let event = await heard.value
        timeout.cancel()
        #expect(event == SessionEndedEvent(sessionID: live.sessionID, reason: .adminLogout, revocationID: ended.revocationID))
        b.sessionEvents.unsubscribe(sessionID: live.sessionID, id: subscription.id)
        following.cancel()
        try await following.value
        for services in [a, b] { await services.close() }
    }

    @Test("a role changed on one instance is the role another instance's sessions carry")
    func memberChangesReachOtherInstances() async throws {
        let (_, a, b, team) = try await Self.twoInstances()
        let before = try await b.signIn.currentSession(token: team.rohanTokens[0])
        #expect(before.member.role != .teamLead)

        _ = try await a.directory.changeRole(organizationID: team.organization.id, phone: team.rohan.phone, to: .teamLead, origin: .cli)

        #expect(try await b.signIn.currentSession(token: team.rohanTokens[0]).member.role == .teamLead)
        for services in [a, b] { await services.close() }
    }

    @Test("a member removed through one instance is refused by another, over HTTP, though that instance had their session in memory")
    func memberRemovalReachesOtherInstances() async throws {
        // setup: B has adopted both of Meera's sessions
        let (environment, a, b, team) = try await Self.twoInstances()
        for token in team.meeraTokens { #expect(try await b.signIn.currentSession(token: token).member.id == team.meera.id) }
        // act
        let removed = try await a.directory.removeMember(organizationID: team.organization.id, phone: team.meera.phone, origin: .cli)
        // check: B's server refuses her tokens with the reason, and still serves Rohan
        #expect(removed.sessionsEnded == 2)
        try await environment.withLiveServer(b) { client in
            for token in team.meeraTokens {
                let me = try await client.get("/me", bearer: token)
                #expect(me.status == .unauthorized)
                #expect(me.json["reason"] as? String == "member_removed")
            }
            #expect(try await client.get("/me", bearer: team.rohanTokens[0]).status == .ok)
            let logout = try await client.logout(phone: team.meera.phone.e164, key: team.apiKey)
            #expect(logout.status == .unprocessableContent)
        }
        for services in [a, b] { await services.close() }
    }

    @Test("instances starting together on an empty database migrate it once")
    func concurrentMigrations() async throws {
        let environment = try TestEnvironment(backend: .postgres)
        async let first = environment.openServices()
        async let second = environment.openServices()
        async let third = environment.openServices()
        let instances = try await [first, second, third]
        let team = try await SeededTeam.make(instances[0])
        #expect(try await instances[2].directory.members(organizationID: team.organization.id).count == 3)
        for services in instances { await services.close() }
    }
}
