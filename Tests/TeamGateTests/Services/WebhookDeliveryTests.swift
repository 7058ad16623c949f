import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

@testable import TeamGate

@Suite("Webhooks")
struct WebhookDeliveryTests {
    struct Received: Sendable {
        let body: String
        let signature: String?
        let event: String?
    }

    @Test("a receiver gets a correctly signed delivery; one that fails at first gets it on a retry")
    func signedAndRetried() async throws {
        // setup: a real receiver that refuses its first two deliveries
        let received = Mutex<[Received]>([])
        let refusalsLeft = Mutex(2)
        let receiverRouter = Router()
        receiverRouter.post("/hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 100_000)
            received.withLock {
                $0.append(
                    Received(
                        body: String(buffer: body), signature: request.headers[HTTPField.Name("X-TeamGate-Signature")!],
                        event: request.headers[HTTPField.Name("X-TeamGate-Event")!]))
            }
            let refuse = refusalsLeft.withLock { left in
                defer { left = max(0, left - 1) }
                return left > 0
            }
            return Response(status: refuse ? .serviceUnavailable : .noContent)
        }
        try await withLoopbackServer(receiverRouter) { port in
            var environment = try TestEnvironment()
            environment.configuration.webhookRetrySeconds = 0.05
            // The receiver is on loopback, which only a host the operator allows by name may be.
            environment.configuration.webhookAllowedHosts = ["127.0.0.1"]
            let services = try await environment.openServices()
            let team = try await SeededTeam.make(services)
            let environmentCopy = environment
            try await environmentCopy.withLiveServer(services) { client in
                // act
                let created = try await client.admin(
                    .post, "/webhooks", key: team.apiKey,
                    body: #"{"url":"http://127.0.0.1:\#(port)/hook","events":["team_member.logged_out","session.ended"]}"#)
                #expect(created.status == .created)
                let secret = try #require(created.json["secret"] as? String)
                let id = try #require(created.json["id"] as? String)
                let listed = try await client.admin(.get, "/webhooks", key: team.apiKey)
                #expect(listed.data.count == 1 && listed.data[0]["secret"] == nil)
                let logout = try await client.admin(.post, "/team-member/logout", key: team.apiKey, body: #"{"userPhoneNumber":"+919311111111"}"#)
                #expect(logout.status == .created)

                // check: after two refusals, the third attempt is accepted
                var deliveries: [[String: Any]] = []
                for _ in 0..<200 {
                    deliveries = try await client.admin(.get, "/webhooks/\(id)/deliveries", key: team.apiKey).data
                    if deliveries.first?["state"] as? String == "delivered" { break }
                    // The services' clock is the test's: moving it makes the retry due.
                    environmentCopy.clock.advance(by: 1)
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(deliveries.first?["state"] as? String == "delivered")
                #expect(deliveries.first?["attempts"] as? Int == 3)
                let attempts = received.withLock { $0 }
                #expect(attempts.count == 3)
                let delivery = try #require(attempts.last)
                #expect(delivery.event == "team_member.logged_out")
                let payload = try #require(try JSONSerialization.jsonObject(with: Data(delivery.body.utf8)) as? [String: Any])
                #expect(payload["type"] as? String == "team_member.logged_out")
                let data = try #require(payload["data"] as? [String: Any])
                #expect(data["phoneNumber"] as? String == "+919311111111")
                #expect(data["sessionsEnded"] as? Int == 2)
                #expect(data["revocationId"] as? String == logout.json["revocationId"] as? String)
                // The signature is HMAC-SHA256 over "<timestamp>.<body>" with the secret shown at creation.
                let signature = try #require(delivery.signature)
                let timestamp = try #require(Int(signature.split(separator: ",")[0].dropFirst(2)))
                #expect(signature == Webhooks.signature(body: delivery.body, secret: secret, timestamp: timestamp))

                let deleted = try await client.admin(.delete, "/webhooks/\(id)", key: team.apiKey)
                #expect(deleted.status == .ok)
                #expect(try await client.admin(.delete, "/webhooks/\(id)", key: team.apiKey).status == .notFound)
                let badURL = try await client.admin(.post, "/webhooks", key: team.apiKey, body: #"{"url":"ftp://x","events":["session.ended"]}"#)
                #expect(badURL.status == .badRequest)
            }
        }
    }

    @Test("a receiver that always fails is retried after 2ⁿ⁻¹ retry periods, never sooner, eight tries in all, then the delivery is failed")
    func backoffDoublesThenGivesUp() async throws {
        // setup: a receiver that refuses everything, and a retry period of 10 s on the test's clock
        let arrivals = Mutex(0)
        let receiverRouter = Router()
        receiverRouter.post("/hook") { _, _ -> Response in
            arrivals.withLock { $0 += 1 }
            return Response(status: .serviceUnavailable)
        }
        try await withLoopbackServer(receiverRouter) { port in
            // On SQLite whatever the run's backend: on PostgreSQL the database's clock decides when a delivery falls
            // due (instances' clocks may disagree), so the test's clock could not move it; the store conformance
            // suite checks the lease on PostgreSQL's clock, faults_check two instances whose clocks differ.
            var configured = try TestEnvironment(backend: .sqlite)
            configured.configuration.webhookRetrySeconds = 10
            configured.configuration.webhookAllowedHosts = ["127.0.0.1"]
            let environment = configured
            let services = try await environment.openServices()
            let team = try await SeededTeam.make(services)
            try await environment.withLiveServer(services) { client in
                let created = try await client.admin(
                    .post, "/webhooks", key: team.apiKey, body: #"{"url":"http://127.0.0.1:\#(port)/hook","events":["team_member.logged_out"]}"#)
                let id = try #require(created.json["id"] as? String)
                /// The delivery once it has `attempts` attempts, waiting up to 5 s with the clock standing still.
                @Sendable func delivery(after attempts: Int) async throws -> WebhookDelivery {
                    for _ in 0..<250 {
                        let stored = try await services.webhooks.deliveries(organizationID: team.organization.id, id: id, origin: .cli)
                        if let first = stored.first, first.attempts >= attempts { return first }
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    throw DeliveryNotAttempted(attempts: attempts)
                }
                @Sendable func shown() async throws -> [String: Any] {
                    try #require(try await client.admin(.get, "/webhooks/\(id)/deliveries", key: team.apiKey).data.first)
                }

                // act
                #expect(try await client.logout(phone: team.meera.phone.e164, key: team.apiKey).status == .created)

                // check: after attempt n, the next is due 10·2ⁿ⁻¹ s later (the clock has not moved since the
                // attempt), and nothing is sent one second sooner
                var delays: [TimeInterval] = []
                for attempt in 1..<8 {
                    let pending = try await delivery(after: attempt)
                    #expect(pending.attempts == attempt)
                    #expect(pending.state == .pending)
                    #expect(pending.lastStatus == 503)
                    #expect(arrivals.withLock { $0 } == attempt)
                    let delay = pending.nextAttemptAt.timeIntervalSince(environment.clock.now).rounded()
                    delays.append(delay)
                    // The API shows the same, to the second.
                    let api = try await shown()
                    #expect(api["attempts"] as? Int == attempt && api["state"] as? String == "pending")
                    let apiNext = try #require((api["nextAttemptAt"] as? String).flatMap { try? Date($0, strategy: .iso8601) })
                    #expect(abs(apiNext.timeIntervalSince(pending.nextAttemptAt)) < 1)

                    environment.clock.advance(by: delay - 1)
                    try await Task.sleep(for: .milliseconds(600))  // three polls of the dispatcher
                    #expect(arrivals.withLock { $0 } == attempt, "retried before its time after attempt \(attempt)")
                    environment.clock.advance(by: 1)
                }
                #expect(delays == [10, 20, 40, 80, 160, 320, 640])
                let failed = try await delivery(after: 8)
                #expect(failed.attempts == 8)
                #expect(failed.state == .failed)
                #expect(failed.lastError == "HTTP 503")
                let api = try await shown()
                #expect(api["state"] as? String == "failed" && api["attempts"] as? Int == 8)
                #expect(api["nextAttemptAt"] == nil)
                // The eighth try was the last: a day later, nothing more has been sent.
                environment.clock.advance(by: 24 * 3600)
                try await Task.sleep(for: .milliseconds(600))
                #expect(arrivals.withLock { $0 } == 8)
                #expect(try await delivery(after: 8).attempts == 8)
            }
        }
    }
}

struct DeliveryNotAttempted: Error {
    let attempts: Int
}
