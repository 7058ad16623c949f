import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

@testable import TeamGate

@Suite("Webhook fairness")
struct WebhookFairnessTests {
    /// Names that all resolve to 127.0.0.1 (the resolver reads dotted, short, decimal, hex and octal IPv4 alike).
    static let namesOfLoopback = ["127.0.0.1", "127.1", "127.0.1", "2130706433", "0x7f000001", "0177.0.0.1"]

    @Test("many names of one hanging address share one receiver's budget: four in flight, the rest handed back", arguments: TestBackend.available)
    func namesOfOneAddressShareABudget(backend: TestBackend) async throws {
        // setup: a receiver that never answers until the test ends, behind six webhooks by six names of its address
        let hits = Mutex(0)
        let released = Mutex(false)
        let router = Router()
        router.post("/hook") { _, _ -> Response in
            hits.withLock { $0 += 1 }
            while !released.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
            return Response(status: .noContent)
        }
        try await withLoopbackServer(router) { port in
            var environment = try TestEnvironment(backend: backend)
            environment.configuration.webhookAllowedHosts = Set(Self.namesOfLoopback)
            let services = try await environment.openServices()
            let team = try await SeededTeam.make(services)
            for name in Self.namesOfLoopback {
                _ = try await services.webhooks.create(
                    organizationID: team.organization.id, url: "http://\(name):\(port)/hook", events: [.teamMemberLoggedOut], origin: .cli)
            }
            for name in Self.namesOfLoopback {
                let address = await services.webhooks.targets.likelyAddress(of: try #require(URL(string: "http://\(name):\(port)/hook")))
                #expect(address == IPAddress(literal: "127.0.0.1"), "\(name) is at \(String(describing: address))")
            }
            let store = try #require(services.store as? SQLStore)
            let clock = environment.clock
            let settled = try await environment.withLiveServer(services) { _ in
                // act: one logout queues six deliveries
                _ = try await services.logout.logOut(apiKey: team.apiKey, phone: team.rohan.phone, services: services)
                // Each delivery is either at the receiver or handed back (due again in a second, not leased for a minute).
                var state = (inFlight: 0, handedBack: 0)
                for _ in 0..<500 {
                    state = (hits.withLock { $0 }, try await Self.handedBack(in: store, now: clock.now))
                    if state.inFlight + state.handedBack >= 6 { break }
                    try await Task.sleep(for: .milliseconds(10))
                }
                released.withLock { $0 = true }
                return state
            }

            // check
            #expect(settled.inFlight == 4 && settled.handedBack == 2, "\(settled)")
            await services.close()
        }
    }

    /// Pending deliveries due again in the next 5 s (by the database's clock where instances share it): handed back, not leased.
    static func handedBack(in store: SQLStore, now: Date) async throws -> Int {
        let system = store.backend.system
        return try await store.backend.read { db in
            let reference = try SQLStore.sharedNow(db, system: system) ?? now.millisecondsSince1970
            return try db.rows("SELECT next_attempt_at FROM webhook_deliveries WHERE state = 'pending'", [])
                .filter { row in (1..<5000).contains((row["next_attempt_at"] as Int64) - reference) }.count
        }
    }
}
