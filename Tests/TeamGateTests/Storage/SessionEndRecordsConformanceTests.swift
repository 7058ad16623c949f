import Foundation
import GRDB
import Testing

@testable import TeamGate

/// A session's end is an appended record (`session_ends`) until it is folded into its row: every reader must say
/// the same before and after the fold, on both databases and across instances.
@Suite("Session ends as appended records: SQLite and PostgreSQL")
struct SessionEndRecordsConformanceTests {
    /// The rows of the member's sessions as the database holds them, ends included.
    static func rows(of memberID: String, in store: SQLStore) async throws -> [String] {
        try await store.backend.read { db in
            try db.rows("SELECT id, ended_at, end_reason, revocation_id FROM sessions WHERE member_id = ? ORDER BY id", [memberID]).map { row in
                "\(row["id"] as String) \(row["ended_at"] as Int64? ?? -1) \(row["end_reason"] as String? ?? "-") \(row["revocation_id"] as String? ?? "-")"
            }
        }
    }

    static func endRecords(in store: SQLStore) async throws -> [(sessionID: String, reason: String, revocationID: String?)] {
        try await store.backend.read { db in
            try db.rows("SELECT session_id, reason, revocation_id FROM session_ends ORDER BY seq", []).map {
                ($0["session_id"], $0["reason"], $0["revocation_id"])
            }
        }
    }

    @Test("a logout appends one record per session and leaves their rows as they were; every reader sees them ended, before and after the fold", arguments: TestBackend.available)
    func appendThenFold(backend: TestBackend) async throws {
        // setup: Meera signed in on two devices
        let environment = try TestEnvironment(backend: backend)
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let store = try #require(services.store as? SQLStore)
        let rowsBefore = try await Self.rows(of: team.meera.id, in: store)

        // act: the admin's logout
        let ended = try await services.logout.logOut(apiKey: team.apiKey, phone: team.meera.phone, services: services)

        // check: two records, the rows untouched
        #expect(ended.sessionsEnded == 2)
        let records = try await Self.endRecords(in: store)
        #expect(records.count == 2)
        #expect(records.allSatisfy { $0.reason == "admin_logout" && $0.revocationID == ended.revocationID })
        #expect(try await Self.rows(of: team.meera.id, in: store) == rowsBefore)
        let now = environment.clock.now
        let listed = try await services.store.sessions(memberID: team.meera.id)
        #expect(listed.count == 2 && listed.allSatisfy { !$0.isLive(at: now) && $0.endReason == .adminLogout && $0.revocationID == ended.revocationID })
        let paged = try #require(try await services.store.sessions(memberID: team.meera.id, before: nil, limit: 10))
        #expect(paged.allSatisfy { !$0.isLive(at: now) })
        #expect(try await services.store.sessionSummaries(organizationID: team.organization.id, at: now)[team.meera.id]?.live == 0)
        #expect(try await services.store.sessionSummaries(organizationID: team.organization.id, memberIDs: [team.meera.id], at: now)[team.meera.id]?.live == 0)
        #expect(try await services.store.sessionSummaries(organizationID: team.organization.id, at: now)[team.rohan.id]?.live == 1)
        let revoked = try #require(try await services.store.revocation(id: ended.revocationID, organizationID: team.organization.id))
        #expect(revoked.count == 2 && revoked.allSatisfy { $0.reason == .adminLogout && $0.endedAt != nil })
        for token in team.meeraTokens {
            await #expect(throws: TeamGateError.sessionEnded(.adminLogout)) { try await services.signIn.currentSession(token: token) }
            if case .ended(let session) = try await services.store.loadSession(tokenHash: SecretToken.hash(token), at: now) {
                #expect(session.endReason == .adminLogout)
            } else {
                Issue.record("the disk path reads the pending end")
            }
        }
        let second = try await services.logout.logOut(apiKey: team.apiKey, phone: team.meera.phone, services: services)
        #expect(second.sessionsEnded == 0)
        #expect(try await Self.endRecords(in: store).count == 2)

        // act: the fold, as the background service makes it
        #expect(try await store.foldSessionEnds(limit: 256, onlyIfIdle: false) == 2)

        // check: the rows hold the ends, the table is empty, the readers say the same, also once memory lets go
        #expect(try await Self.endRecords(in: store).isEmpty)
        let folded = try await Self.rows(of: team.meera.id, in: store)
        #expect(folded != rowsBefore && folded.allSatisfy { $0.contains("admin_logout \(ended.revocationID)") })
        #expect(try await services.store.sessions(memberID: team.meera.id) == listed)
        store.pendingEnds.retire(foldedBelow: .max, at: .now + .seconds(60))
        #expect(store.pendingSessionEnds == 0)
        #expect(try await services.store.sessions(memberID: team.meera.id) == listed)
        #expect(try await services.store.sessionSummaries(organizationID: team.organization.id, at: now)[team.meera.id]?.live == 0)
        #expect(try await services.store.revocation(id: ended.revocationID, organizationID: team.organization.id) == revoked)
        for token in team.meeraTokens {
            await #expect(throws: TeamGateError.sessionEnded(.adminLogout)) { try await services.signIn.currentSession(token: token) }
        }
        #expect(try await services.signIn.currentSession(token: team.rohanTokens[0]).member.id == team.rohan.id)
        await services.close()
    }

    @Test("ends still appended when the process stops are read back: the index skips their sessions, a new logout ends nothing twice", arguments: TestBackend.available)
    func restartWithPendingEnds(backend: TestBackend) async throws {
        // setup: Meera logged out, nothing folded, the process stops
        let environment = try TestEnvironment(backend: backend)
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        _ = try await services.logout.logOut(apiKey: team.apiKey, phone: team.meera.phone, services: services)
        await services.close()

        // act: a new process on the same database, its index loaded
        let reopened = try await environment.openServices()
        let store = try #require(reopened.store as? SQLStore)
        await store.waitUntilIndexIsWarm()

        // check
        #expect(store.pendingSessionEnds == 2)
        for token in team.meeraTokens {
            await #expect(throws: TeamGateError.sessionEnded(.adminLogout)) { try await reopened.signIn.currentSession(token: token) }
        }
        #expect(try await reopened.logout.logOut(apiKey: team.apiKey, phone: team.meera.phone, services: reopened).sessionsEnded == 0)
        #expect(try await reopened.logout.logOut(apiKey: team.apiKey, phone: team.rohan.phone, services: reopened).sessionsEnded == 1)
        #expect(try await Self.endRecords(in: store).count == 3)
        await reopened.close()
    }

    @Test("two writes of one group commit that end the same session: the second finds it ended, by its record in the transaction", arguments: TestBackend.available)
    func twoEndsInOneCommit(backend: TestBackend) async throws {
        // setup: Meera signed in on two devices
        let environment = try TestEnvironment(backend: backend)
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let store = try #require(services.store as? SQLStore)
        let at = environment.clock.now
        let sessionID = try #require(try await services.store.sessions(memberID: team.meera.id).first?.id)

        // act: two units of work on one transaction, as a batch runs two writes (each its own unit)
        let (first, second, alone, lookedUp) = try await store.writer.write { db in
            let first = try store.makeUnit(db).endSessions(
                [SessionsToEnd(.member(id: team.meera.id), revocationID: "rev_first", at: at)], reason: .adminLogout)
            let second = try store.makeUnit(db).endSessions(
                [SessionsToEnd(.member(id: team.meera.id), revocationID: "rev_second", at: at)], reason: .adminLogout)
            let alone = try store.makeUnit(db).endSessions(
                [SessionsToEnd(.session(id: sessionID, organizationID: team.organization.id), revocationID: "rev_third", at: at)], reason: .sessionRevoked)
            let lookedUp = try store.makeUnit(db).session(id: sessionID, organizationID: team.organization.id)?.session
            return (first[0].count, second[0].count, alone[0].count, lookedUp)
        }

        // check: the first ended both, the others nothing; the same transaction already read the end
        #expect(first == 2)
        #expect(second == 0)
        #expect(alone == 0)
        #expect(lookedUp?.endReason == .adminLogout && lookedUp?.revocationID == "rev_first")
        #expect(try await Self.endRecords(in: store).map(\.revocationID) == ["rev_first", "rev_first"])
        await services.close()
    }

    @Test("a revocation's device acknowledges it while its end is still a record, and after the fold the row keeps the acknowledgement", arguments: TestBackend.available)
    func acknowledgementBeforeFold(backend: TestBackend) async throws {
        // setup: Meera logged out, her first device told
        let environment = try TestEnvironment(backend: backend)
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let store = try #require(services.store as? SQLStore)
        let ended = try await services.logout.logOut(apiKey: team.apiKey, phone: team.meera.phone, services: services)
        let sessionID = try #require(try await services.store.sessions(memberID: team.meera.id).first?.id)

        // act and check: the ack is taken under the pending end's revocation only
        #expect(try await store.markAcknowledged(sessionID: sessionID, revocationID: "rev_other", at: environment.clock.now) == false)
        #expect(try await store.markAcknowledged(sessionID: sessionID, revocationID: ended.revocationID, at: environment.clock.now))
        _ = try await store.foldSessionEnds(limit: 256, onlyIfIdle: false)
        let revoked = try #require(try await store.revocation(id: ended.revocationID, organizationID: team.organization.id))
        #expect(revoked.first { $0.sessionID == sessionID }?.acknowledgedAt != nil)
        await services.close()
    }
}

@Suite("Session ends as appended records across instances", .enabled(if: TestBackend.postgresServer != nil))
struct SharedSessionEndRecordsTests {
    @Test("an end appended on one instance holds on another: its logout ends nothing twice, its lists say ended, before and after either folds")
    func endsAcrossInstances() async throws {
        // setup: instances A and B; B has read Meera's sessions
        let (_, a, b, team) = try await SharedPostgresTests.twoInstances()
        let storeB = try #require(b.store as? SQLStore)
        #expect(try await b.signIn.currentSession(token: team.meeraTokens[0]).member.id == team.meera.id)

        // act: A logs Meera out; B logs her out again and lists her sessions
        let ended = try await a.logout.logOut(apiKey: team.apiKey, phone: team.meera.phone, services: a)
        let again = try await b.logout.logOut(apiKey: team.apiKey, phone: team.meera.phone, services: b)

        // check
        #expect(ended.sessionsEnded == 2)
        #expect(again.sessionsEnded == 0)
        #expect(try await SessionEndRecordsConformanceTests.endRecords(in: storeB).count == 2)
        let now = Date()
        #expect(try await b.store.sessions(memberID: team.meera.id).allSatisfy { $0.endReason == .adminLogout && $0.revocationID == ended.revocationID })
        #expect(try await b.store.sessionSummaries(organizationID: team.organization.id, at: now)[team.meera.id]?.live == 0)
        // B folds A's ends; A still refuses and lists them ended
        #expect(try await storeB.foldSessionEnds(limit: 256, onlyIfIdle: false) == 2)
        await #expect(throws: TeamGateError.sessionEnded(.adminLogout)) { try await a.signIn.currentSession(token: team.meeraTokens[1]) }
        #expect(try await a.store.sessions(memberID: team.meera.id).allSatisfy { $0.endReason == .adminLogout })
        #expect(try await a.logout.logOut(apiKey: team.apiKey, phone: team.meera.phone, services: a).sessionsEnded == 0)
        for services in [a, b] { await services.close() }
    }
}
