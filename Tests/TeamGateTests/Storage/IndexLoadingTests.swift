import Foundation
import HummingbirdTesting
import Testing

@testable import TeamGate

/// Start-up: a reopened store answers from the database while its index loads, the same answers as once
/// it is warm, and `/ready` tells the two states apart. On SQLite and on PostgreSQL.
@Suite("Index loading at start-up")
struct IndexLoadingTests {
    @Test("before the index is warm the disk answers each token as the warm index does; an ended one stays ended", arguments: TestBackend.available)
    func answersWhileLoading(backend: TestBackend) async throws {
        let environment = try TestEnvironment(backend: backend)
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        _ = try await services.logout.logOut(apiKey: team.apiKey, phone: team.rohan.phone, services: services)
        let reopened = try await environment.openServices()
        let store = try #require(reopened.store as? SQLStore)
        await store.waitUntilIndexIsWarm()
        let now = environment.clock.now
        // The index keeps expiries to the second (the disk to the millisecond): answers are compared so.
        func answers() async throws -> [LiveSession?] {
            var answers: [LiveSession?] = []
            for token in team.meeraTokens + team.rohanTokens {
                answers.append(
                    try await store.liveSession(tokenHash: SecretToken.hash(token), at: now).map {
                        LiveSession(
                            sessionID: $0.sessionID, expiresAt: Date(timeIntervalSince1970: $0.expiresAt.timeIntervalSince1970.rounded(.down)),
                            member: $0.member, organizationName: $0.organizationName)
                    })
            }
            return answers
        }
        let warm = try await answers()
        #expect(store.holdsEveryLiveSession)
        #expect(warm.map { $0 != nil } == [true, true, false])
        #expect(warm[0]?.member.id == team.meera.id && warm[0]?.member.name == team.meera.name)
        // As at start-up: an empty index, loading. Only the disk can answer now.
        store.index.removeAll()
        store.index.beginLoading()
        #expect(!store.holdsEveryLiveSession)
        let cold = try await answers()
        #expect(cold == warm)
        try await environment.withLiveServer(reopened) { client in
            let warming = try await client.execute(uri: "/ready", method: .get)
            #expect(warming.status == .serviceUnavailable)
            #expect(warming.json["status"] as? String == "warming")
            let me = try await client.get("/me", bearer: team.meeraTokens[0])
            #expect(me.status == .ok)
            #expect(me.json["sessionId"] as? String == warm[0]?.sessionID)
            #expect(try await client.get("/me", bearer: team.rohanTokens[0]).status == .unauthorized)
            try await store.loadIndex()
            let ready = try await client.execute(uri: "/ready", method: .get)
            #expect(ready.status == .ok)
            #expect(ready.json["status"] as? String == "ready")
        }
        #expect(try await answers() == warm)
        #expect(store.index.footprint.sessions == 2)
        await reopened.close()
        await services.close()
    }

    @Test("a logout while the index loads is never undone by the load", arguments: TestBackend.available)
    func logoutDuringLoad(backend: TestBackend) async throws {
        let environment = try TestEnvironment(backend: backend)
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let store = try #require(services.store as? SQLStore)
        await store.waitUntilIndexIsWarm()
        // The loader runs while Meera is logged out: whichever reads first, her sessions must end up gone.
        store.index.removeAll()
        store.index.beginLoading()
        async let loaded: Void = store.loadIndex()
        _ = try await services.logout.logOut(apiKey: team.apiKey, phone: team.meera.phone, services: services)
        try await loaded
        #expect(store.holdsEveryLiveSession)
        for token in team.meeraTokens {
            #expect(try await store.liveSession(tokenHash: SecretToken.hash(token), at: environment.clock.now) == nil)
        }
        #expect(try await store.liveSession(tokenHash: SecretToken.hash(team.rohanTokens[0]), at: environment.clock.now) != nil)
        await services.close()
    }
}
