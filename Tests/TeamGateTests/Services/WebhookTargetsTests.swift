import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

@testable import TeamGate

/// A DNS server that answers a public address first and a private one afterwards (DNS rebinding).
final class RebindingResolver: HostResolver {
    private let lookups = Mutex(0)
    let inside: IPAddress

    init(inside: IPAddress) {
        self.inside = inside
    }

    func addresses(of host: String) async throws -> [IPAddress] {
        let first = lookups.withLock { count in
            count += 1
            return count == 1
        }
        return first ? [IPAddress(literal: "93.184.216.34")!] : [inside]
    }
}

@Suite("Webhook targets")
struct WebhookTargetsTests {
    @Test("a name that resolves to a private address is refused at creation; an allowed host is accepted even on loopback")
    func creation() async throws {
        let open = WebhookTargets()
        #expect(await open.problem(with: URL(string: "http://localhost:8080/hook")!) == WebhookTargets.privateTarget)
        #expect(await open.problem(with: URL(string: "http://2130706433/")!) == WebhookTargets.privateTarget)
        #expect(await open.problem(with: URL(string: "http://[::ffff:127.0.0.1]/")!) == WebhookTargets.privateTarget)
        #expect(await open.problem(with: URL(string: "https://93.184.216.34/hook")!) == nil)
        let allowed = WebhookTargets(allowedHosts: ["127.0.0.1"])
        #expect(await allowed.problem(with: URL(string: "http://127.0.0.1:9/hook")!) == nil)
        #expect(await allowed.problem(with: URL(string: "https://93.184.216.34/hook")!) != nil)
    }

    @Test("DNS rebinding: a host public at creation and private at delivery is refused at delivery, and nothing reaches inside")
    func rebinding() async throws {
        // setup: a real receiver on loopback that counts what reaches it
        let reached = Mutex(0)
        let insideRouter = Router()
        insideRouter.post("/admin") { _, _ -> Response in
            reached.withLock { $0 += 1 }
            return Response(status: .ok)
        }
        try await withLoopbackServer(insideRouter) { port in
            let environment = try TestEnvironment()
            let opened = try await environment.openServices()
            let services = TeamGateServices(
                store: opened.store, otpSender: environment.outbox, clock: environment.clock.wallClock,
                webhookTargets: WebhookTargets(resolver: RebindingResolver(inside: IPAddress(literal: "127.0.0.1")!)))
            let team = try await SeededTeam.make(services)
            try await environment.withLiveServer(services) { client in
                // act: the webhook is accepted (the name resolved to a public address), then a logout queues a delivery
                let created = try await client.admin(
                    .post, "/webhooks", key: team.apiKey, body: #"{"url":"http://rebind.test:\#(port)/admin","events":["team_member.logged_out"]}"#)
                #expect(created.status == .created)
                let id = try #require(created.json["id"] as? String)
                #expect(try await client.logout(phone: team.meera.phone.e164, key: team.apiKey).status == .created)
                var delivery: [String: Any] = [:]
                for _ in 0..<100 {
                    delivery = try await client.admin(.get, "/webhooks/\(id)/deliveries", key: team.apiKey).data.first ?? [:]
                    if (delivery["attempts"] as? Int ?? 0) > 0 { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                // check: refused, with no status from inside
                #expect((delivery["lastError"] as? String)?.hasPrefix("refused") == true)
                #expect(delivery["lastStatus"] == nil)
                #expect(reached.withLock { $0 } == 0)
            }
        }
    }
}
