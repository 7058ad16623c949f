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
        let receiver = Application(
            router: receiverRouter, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: TestEnvironment.logger)
        try await receiver.test(.live) { receiverClient in
            let port = try #require(receiverClient.port)
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
}
