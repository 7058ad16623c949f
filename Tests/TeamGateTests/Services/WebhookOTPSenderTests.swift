import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing

@testable import TeamGate

@Suite("Code delivery by webhook")
struct WebhookOTPSenderTests {
    @Test("the code is POSTed as JSON to the gateway, HMAC-signed; a refusing gateway does not change the 202 strangers also get")
    func postsSignedJSON() async throws {
        // setup: a real gateway on a free port that records what it receives
        let received = Mutex<[(body: Data, signature: String?)]>([])
        let refuse = Mutex(false)
        let gatewayRouter = Router()
        gatewayRouter.post("/otp") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 10_000)
            received.withLock { $0.append((Data(body.readableBytesView), request.headers[HTTPField.Name("X-TeamGate-Signature")!])) }
            return Response(status: refuse.withLock { $0 } ? .badGateway : .noContent)
        }
        try await withLoopbackServer(gatewayRouter) { port in
            var environment = try TestEnvironment()
            environment.configuration.otpSender = .webhook(URL(string: "http://127.0.0.1:\(port)/otp")!)
            environment.configuration.otpWebhookSecret = "gateway-secret"
            let services = try await environment.openServices(configuredSender: true)
            let team = try await SeededTeam.make(services)
            try await environment.withLiveServer(services) { client in
                // act
                let response = try await client.post("/auth/otp", body: #"{"phoneNumber":"+919322222221"}"#)
                // check
                #expect(response.status == .accepted)
                // Codes go out after the answer.
                for _ in 0..<500 where received.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(10)) }
                let delivery = try #require(received.withLock { $0.first })
                let message = try JSONSerialization.jsonObject(with: delivery.body) as? [String: Any]
                #expect(message?["type"] as? String == "code")
                #expect(message?["phoneNumber"] as? String == team.rohan.phone.e164)
                let code = try #require(message?["code"] as? String)
                #expect(code.count == 6)
                #expect(message?["expiresAt"] is String)
                #expect(delivery.signature == "sha256=" + WebhookSignature.hex(body: delivery.body, secret: "gateway-secret"))
                let login = try await client.post("/auth/login", body: MemberRouteTests.loginBody("+919322222221", code))
                #expect(login.status == .created)

                refuse.withLock { $0 = true }
                let refused = try await client.post("/auth/otp", body: #"{"phoneNumber":"+919322222221"}"#)
                #expect(refused.status == .accepted)
                #expect(refused.text == response.text)
                for _ in 0..<500 where received.withLock({ $0.count < 2 }) { try await Task.sleep(for: .milliseconds(10)) }
                #expect(received.withLock { $0.count } == 2)
            }
        }
    }
}
