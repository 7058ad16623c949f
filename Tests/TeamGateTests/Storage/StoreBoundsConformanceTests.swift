import Foundation
import Testing

@testable import TeamGate

/// The store's bounds on what one organisation can make it do, the same on both backends: webhooks per
/// organisation, due deliveries taken in turns, audit pages that stop at `since` and seek by `action`, and
/// history deleted past its retention in batches.
@Suite("Store bounds: SQLite and PostgreSQL")
struct StoreBoundsConformanceTests {
    @Test("an organisation's 21st webhook is refused, also when two instances add the 20th and 21st at once", arguments: TestBackend.available)
    func webhooksPerOrganization(backend: TestBackend) async throws {
        // setup: Acme with 19 webhooks; two instances of the store (one SQLite file can have only one)
        let environment = try TestEnvironment(backend: backend)
        let first = try await environment.openServices()
        let second = backend == .postgres ? try await environment.openServices() : first
        let acme = try await SeededTeam.make(first, name: "Acme", phoneSuffix: "1")
        let globex = try await SeededTeam.make(first, name: "Globex", phoneSuffix: "2")
        func create(_ services: TeamGateServices, _ team: SeededTeam, _ number: Int) async throws -> Webhook {
            try await services.webhooks.create(
                organizationID: team.organization.id, url: "https://93.184.216.34/hook/\(number)", events: [.teamMemberLoggedOut], origin: .cli)
        }
        var made: [Webhook] = []
        for number in 0..<19 { made.append(try await create(first, acme, number)) }

        // act: the 20th and the 21st at once, on both instances
        func outcome(_ services: TeamGateServices, _ number: Int) async -> Result<Webhook, any Error> {
            do { return .success(try await create(services, acme, number)) } catch { return .failure(error) }
        }
        async let onFirst = outcome(first, 19)
        async let onSecond = outcome(second, 20)
        let outcomes = await [onFirst, onSecond]

        // check: one made, one refused with the limit; a deleted one makes room; another organisation is untouched
        let refusals = outcomes.compactMap { outcome -> TeamGateError? in
            guard case .failure(let error) = outcome else { return nil }
            return error as? TeamGateError
        }
        #expect(refusals == [.webhookLimitReached(limit: 20)], "\(outcomes)")
        #expect(try await first.store.webhooks(organizationID: acme.organization.id).count == 20)
        await #expect(throws: TeamGateError.webhookLimitReached(limit: 20)) { try await create(first, acme, 21) }
        try await first.webhooks.delete(organizationID: acme.organization.id, id: made[0].id, origin: .cli)
        _ = try await create(first, acme, 22)
        _ = try await create(first, globex, 0)
        await first.close()
        await second.close()
    }

    @Test("due deliveries are claimed in turns by organisation: one organisation's backlog does not take every claim", arguments: TestBackend.available)
    func roundRobinClaims(backend: TestBackend) async throws {
        // setup: Acme queued 30 deliveries, then Globex 3, a second apart
        let environment = try TestEnvironment(backend: backend)
        let services = try await environment.openServices()
        let acme = try await SeededTeam.make(services, name: "Acme", phoneSuffix: "1")
        let globex = try await SeededTeam.make(services, name: "Globex", phoneSuffix: "2")
        for team in [acme, globex] {
            _ = try await services.webhooks.create(
                organizationID: team.organization.id, url: "https://93.184.216.34/hook", events: [.teamMemberLoggedOut], origin: .cli)
        }
        // Queued in the last hour: due on PostgreSQL's clock too, which decides there.
        var queuedAt = environment.clock.now.addingTimeInterval(-3600)
        for (team, count) in [(acme, 30), (globex, 3)] {
            for number in 0..<count {
                queuedAt += 1
                let message = WebhookMessage(organizationID: team.organization.id, event: .teamMemberLoggedOut, data: ["n": .int(number)], at: queuedAt)
                _ = try await services.store.perform { work in try work.enqueueWebhook(message) }
            }
        }

        // act: six claims
        let claimed = try await services.store.claimDueDeliveries(at: environment.clock.now, limit: 6, lease: 60)

        // check: Globex's three are among them, with Acme's three oldest
        let byOrganization = Dictionary(grouping: claimed, by: \.1.organizationID).mapValues { $0.map(\.0) }
        #expect(byOrganization[globex.organization.id]?.count == 3)
        let acmeNumbers = byOrganization[acme.organization.id]?.compactMap { delivery in
            (0..<3).first { delivery.payload.contains(#""n":\#($0)"#) }
        }
        #expect(acmeNumbers.map(Set.init) == [0, 1, 2])
        await services.close()
    }

    @Test("an audit page with `since` or `action` reads its own index in order, so the walk stops; pages follow by time", arguments: TestBackend.available)
    func auditPagesUseIndexes(backend: TestBackend) async throws {
        // setup: 3,000 sign-ins and one webhook deletion in Acme's log, a second apart, a year ago
        let environment = try TestEnvironment(backend: backend)
        let services = try await environment.openServices()
        let acme = try await SeededTeam.make(services, name: "Acme", phoneSuffix: "1")
        let store = try #require(services.store as? SQLStore)
        let start = environment.clock.now.addingTimeInterval(-365 * 86_400).millisecondsSince1970
        try await store.writer.write { db in
            try db.execute(
                """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
                INSERT INTO audit_events (id, organization_id, occurred_at, actor, action)
                SELECT 'evt_seed_' || i, ?, CAST(? AS BIGINT) + i * 1000, 'test', CASE WHEN i = 1500 THEN 'webhook.deleted' ELSE 'member.signed_in' END
                FROM n
                """,
                [acme.organization.id, start])
            try db.execute("ANALYZE audit_events", [])
        }
        let future = AuditQuery(organizationID: acme.organization.id, limit: 50, since: Date(timeIntervalSince1970: 32_503_680_000))
        let rare = AuditQuery(organizationID: acme.organization.id, limit: 50, action: .webhookDeleted)

        // act
        let plans = [try await Self.plan(of: future, in: store), try await Self.plan(of: rare, in: store)]

        // check: each reads its index, in the page's order (no sort of everything matched first)
        #expect(plans[0].contains("audit_events_by_time"), "\(plans[0])")
        #expect(plans[1].contains("audit_events_by_action"), "\(plans[1])")
        for plan in plans { #expect(!plan.contains("TEMP B-TREE") && !plan.contains("Sort"), "\(plan)") }
        #expect(try await services.store.auditEvents(future)?.isEmpty == true)
        #expect(try await services.store.auditEvents(rare)?.map(\.id) == ["evt_seed_1500"])
        // The seeded team's own events are of today: newer than every seeded one.
        let since = AuditQuery(organizationID: acme.organization.id, limit: 100, since: Date(millisecondsSince1970: start + 2_995_000))
        let sinceIDs = try #require(try await services.store.auditEvents(since)).map(\.id).filter { $0.hasPrefix("evt_seed_") }
        #expect(sinceIDs == (2995...3000).reversed().map { "evt_seed_\($0)" }, "\(sinceIDs)")
        var paged: [String] = []
        var cursor: String?
        repeat {
            let page = try #require(
                try await services.store.auditEvents(
                    AuditQuery(organizationID: acme.organization.id, limit: 700, afterEventID: cursor, action: .memberSignedIn)))
            paged += page.map(\.id)
            cursor = page.count == 700 ? page.last?.id : nil
        } while cursor != nil
        let seeded = paged.filter { $0.hasPrefix("evt_seed_") }
        let expected = (1...3000).reversed().filter { $0 != 1500 }.map { "evt_seed_\($0)" }
        #expect(seeded == expected, "\(seeded.count) seeded events paged; first \(seeded.prefix(3)), last \(seeded.suffix(3))")
        #expect(paged.prefix(paged.count - seeded.count).allSatisfy { !$0.hasPrefix("evt_seed_") }, "today's come first")
        await services.close()
    }

    @Test("history past its retention is deleted in batches: old audit events, closed sessions, old deliveries; the rest stays", arguments: TestBackend.available)
    func historyRetention(backend: TestBackend) async throws {
        // setup: 2,500 audit events 400 days old; a webhook; Rohan logged out (a delivery queued); Meera's sessions live
        let environment = try TestEnvironment(backend: backend)
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let store = try #require(services.store as? SQLStore)
        let old = environment.clock.now.addingTimeInterval(-400 * 86_400).millisecondsSince1970
        try await store.writer.write { db in
            try db.execute(
                """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
                INSERT INTO audit_events (id, organization_id, occurred_at, actor, action)
                SELECT 'evt_old_' || i, ?, CAST(? AS BIGINT) + i, 'test', 'member.signed_in' FROM n
                """,
                [team.organization.id, old])
        }
        _ = try await services.webhooks.create(
            organizationID: team.organization.id, url: "https://93.184.216.34/hook", events: [.teamMemberLoggedOut], origin: .cli)
        _ = try await services.logout.logOut(apiKey: team.apiKey, phone: team.rohan.phone, services: services)
        let recent = try await services.store.auditEvents(organizationID: team.organization.id, limit: 10_000).count - 2500
        let housekeeping = Housekeeping(store: services.store, clock: environment.clock.wallClock, logger: TestEnvironment.logger)

        // act and check: 31 days on, the old events and the delivery go, in batches of 1,000
        environment.clock.advance(by: 31 * 86_400)
        #expect(try await housekeeping.pruneHistoryOnce() == .init(auditEvents: 2500, closedSessions: 0, webhookDeliveries: 1))
        #expect(try await services.store.auditEvents(organizationID: team.organization.id, limit: 10_000).count == recent)
        #expect(try await services.store.recentDeliveries(organizationID: team.organization.id, limit: 10).isEmpty)
        // 91 days after the logout, Rohan's ended session goes; Meera's expired 61 days ago and stay
        environment.clock.advance(by: 60 * 86_400)
        #expect(try await housekeeping.pruneHistoryOnce() == .init(auditEvents: 0, closedSessions: 1, webhookDeliveries: 0))
        #expect(try await services.store.sessions(memberID: team.rohan.id).isEmpty)
        #expect(try await services.store.sessions(memberID: team.meera.id).count == 2)
        // 90 days after they expired, they go too; the recent audit events are younger than a year and stay
        environment.clock.advance(by: 30 * 86_400)
        #expect(try await housekeeping.pruneHistoryOnce() == .init(auditEvents: 0, closedSessions: 2, webhookDeliveries: 0))
        #expect(try await services.store.auditEvents(organizationID: team.organization.id, limit: 10_000).count == recent)
        await services.close()
    }

    /// The database's own words for how it runs the statement of the audit page `query` asks for.
    static func plan(of query: AuditQuery, in store: SQLStore) async throws -> String {
        let postgres = store.backend.system == "postgresql"
        return try await store.backend.read { db in
            let statement = SQLStore.auditPage(query, after: nil)
            return try db.rows((postgres ? "EXPLAIN " : "EXPLAIN QUERY PLAN ") + statement.sql, statement.arguments)
                .map { row -> String in postgres ? row["QUERY PLAN"] : row["detail"] }
                .joined(separator: "\n")
        }
    }
}
