import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

@testable import TeamGate

@Suite("Back-channel logout")
struct BackChannelLogoutTests {
    struct Received: Sendable {
        let uri: String
        let contentType: String?
        let contentLength: String?
        let body: String
    }

    @Test("the admin's logout reaches the app as a logout token at the URI exactly as registered, retried after a failure")
    func logoutTokenDelivered() async throws {
        // setup: a real receiver that refuses the first delivery
        let received = Mutex<[Received]>([])
        let refusalsLeft = Mutex(1)
        let router = Router()
        router.post("/logout") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 100_000)
            received.withLock {
                $0.append(
                    Received(
                        uri: request.uri.description, contentType: request.headers[.contentType], contentLength: request.headers[.contentLength],
                        body: String(buffer: body)))
            }
            let refuse = refusalsLeft.withLock { left in
                defer { left = max(0, left - 1) }
                return left > 0
            }
            return Response(status: refuse ? .serviceUnavailable : .ok)
        }
        try await withLoopbackServer(router) { port in
            var configured = try TestEnvironment.allowingLoopbackWebhooks()
            configured.configuration.webhookRetrySeconds = 0.05
            let environment = configured
            let services = try await environment.openServices()
            let team = try await SeededTeam.make(services)
            let uri = "http://127.0.0.1:\(port)/logout?tenant=acme&kind=bcl"
            let app = try await OIDCRouteTests.app(services, team, backchannel: uri)
            try await environment.withLiveServer(services) { client in
                let (code, _) = try await OIDCRouteTests.signIn(client, environment, phone: team.meera.phone, clientID: app.client.id)
                let tokens = try await OIDCRouteTests.exchange(client, code: code, app: app)
                let idToken = try #require(tokens.json["id_token"] as? String)
                let keys = try await services.oidc.keys.published()
                let sid = try #require(JSONWebSignature.verifiedClaims(of: idToken, keys: keys)?["sid"] as? String)
                // act
                #expect(try await client.logout(phone: team.meera.phone.e164, key: team.apiKey).status == .created)
                // check: the retry arrives (the first answer was 503)
                var deliveries: [Received] = []
                for _ in 0..<250 where deliveries.count < 2 {
                    // The services' clock is the test's: moving it makes the retry due.
                    environment.clock.advance(by: 1)
                    try await Task.sleep(for: .milliseconds(20))
                    deliveries = received.withLock { $0 }
                }
                try #require(deliveries.count == 2)
                let last = deliveries[1]
                #expect(last.uri == "/logout?tenant=acme&kind=bcl")
                #expect(last.contentType == "application/x-www-form-urlencoded")
                #expect(last.contentLength == "\(last.body.utf8.count)")
                let token = try #require(FormBody.parse(Data(last.body.utf8))["logout_token"])
                let claims = try #require(JSONWebSignature.verifiedClaims(of: token, keys: keys))
                let headerData = try #require(JSONWebSignature.decodeBase64URL(token.split(separator: ".")[0]))
                let header = try #require(try JSONSerialization.jsonObject(with: headerData) as? [String: Any])
                #expect(header["typ"] as? String == "logout+jwt" && header["alg"] as? String == "RS256")
                #expect(claims["sid"] as? String == sid && claims["sub"] as? String == team.meera.id && claims["aud"] as? String == app.client.id)
                #expect(claims["iss"] as? String == services.oidc.issuer && claims["nonce"] == nil && claims["jti"] is String)
                #expect((claims["events"] as? [String: Any])?["http://schemas.openid.net/event/backchannel-logout"] is [String: Any])
                let iat = try #require(claims["iat"] as? Int), exp = try #require(claims["exp"] as? Int)
                #expect(exp - iat == 120)
                // The attempt is recorded just after the answer: give the sender a moment to write it.
                var pending = try await services.store.pendingLogoutDeliveryCount()
                for _ in 0..<250 where pending > 0 {
                    try await Task.sleep(for: .milliseconds(20))
                    pending = try await services.store.pendingLogoutDeliveryCount()
                }
                #expect(pending == 0)
            }
        }
    }

    @Test("a second end of the same SSO session queues nothing more for the app: one logout per (app, sid)")
    func oncePerAppAndSession() async throws {
        let environment = try TestEnvironment.allowingLoopbackWebhooks()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        // Nothing listens on port 9: deliveries stay pending, to be counted.
        let app = try await OIDCRouteTests.app(services, team, backchannel: "http://127.0.0.1:9/logout")
        try await environment.withLiveServer(services) { client in
            for _ in 0..<2 {
                let (code, _) = try await OIDCRouteTests.signIn(client, environment, phone: team.meera.phone, clientID: app.client.id)
                #expect(try await OIDCRouteTests.exchange(client, code: code, app: app).status == .ok)
            }
            // act: one logout ends two sign-ins of the app, each under its own SSO session
            #expect(try await client.logout(phone: team.meera.phone.e164, key: team.apiKey).status == .created)
            #expect(try await client.logout(phone: team.meera.phone.e164, key: team.apiKey).status == .created)
            // check: one delivery per SSO session (failing, so still pending), none for the second (empty) logout
            #expect(try await services.store.pendingLogoutDeliveryCount() == 2)
        }
    }
}
