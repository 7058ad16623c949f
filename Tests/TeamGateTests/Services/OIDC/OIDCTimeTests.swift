import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

@testable import TeamGate

/// What the OpenID Connect provider does as time passes, on the injected clock: codes, signing keys, hints, expiry.
@Suite("OpenID Connect over time")
struct OIDCTimeTests {
    @Test("a code is good for 60 seconds: at 61 it is invalid_grant")
    func codeLifetime() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let app = try await OIDCRouteTests.app(services, team)
        try await environment.withLiveServer(services) { client in
            let (code, _) = try await OIDCRouteTests.signIn(client, environment, phone: team.meera.phone, clientID: app.client.id)
            // act
            environment.clock.advance(by: 61)
            // check
            let late = try await OIDCRouteTests.exchange(client, code: code, app: app)
            #expect(late.status == .badRequest && late.json["error"] as? String == "invalid_grant")
        }
    }

    @Test("rotating the signing key: new tokens carry the new kid, the old key stays in the JWKS for a day, then goes")
    func keyRotation() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let app = try await OIDCRouteTests.app(services, team)
        try await environment.withLiveServer(services) { client in
            let first = try #require(try await services.oidc.keys.published().first?.id)
            // act
            let second = try await services.oidc.rotateSigningKey()
            // check
            let kids = (try await client.get("/oidc/jwks").json["keys"] as? [[String: Any]])?.compactMap { $0["kid"] as? String }
            #expect(kids.map(Set.init) == [first, second])
            let (code, _) = try await OIDCRouteTests.signIn(client, environment, phone: team.meera.phone, clientID: app.client.id)
            let idToken = try #require(try await OIDCRouteTests.exchange(client, code: code, app: app).json["id_token"] as? String)
            let header = try #require(JSONWebSignature.decodeBase64URL(idToken.split(separator: ".")[0]))
            #expect(try JSONSerialization.jsonObject(with: header) as? [String: String] == ["alg": "RS256", "typ": "JWT", "kid": second])
            environment.clock.advance(by: 25 * 3600)
            let later = (try await client.get("/oidc/jwks").json["keys"] as? [[String: Any]])?.compactMap { $0["kid"] as? String }
            #expect(later == [second])
        }
    }

    @Test("RP-initiated logout takes an expired id_token_hint; an app sign-in that expires is ended and its app told")
    func expiredHintAndExpiry() async throws {
        let received = Mutex<[String]>([])
        let router = Router()
        router.post("/logout") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 100_000)
            if let token = FormBody.parse(Data(buffer: body))["logout_token"] { received.withLock { $0.append(token) } }
            return Response(status: .ok)
        }
        try await withLoopbackServer(router) { port in
            let environment = try TestEnvironment.allowingLoopbackWebhooks()
            let services = try await environment.openServices()
            let team = try await SeededTeam.make(services)
            let app = try await OIDCRouteTests.app(services, team, backchannel: "http://127.0.0.1:\(port)/logout")
            try await environment.withLiveServer(services) { client in
                let (code, _) = try await OIDCRouteTests.signIn(client, environment, phone: team.meera.phone, clientID: app.client.id)
                let tokens = try await OIDCRouteTests.exchange(client, code: code, app: app)
                let hint = try #require(tokens.json["id_token"] as? String)
                let access = try #require(tokens.json["access_token"] as? String)
                // act: two hours on, past the ID token's hour
                environment.clock.advance(by: 2 * 3600)
                let out = try await client.execute(uri: "/oidc/logout?id_token_hint=\(hint)", method: .get)
                // check
                #expect(out.status == .ok && out.text.contains("You are signed out"))
                #expect(try await OIDCRouteTests.introspect(client, access, app: app) == false)
                // The app hears of the logout (before the clock jumps on: housekeeping would prune a month-old delivery).
                for _ in 0..<250 where received.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(20)) }
                #expect(received.withLock { $0.count } == 1)

                // A second sign-in, left to expire with its SSO session: housekeeping ends it, and the app hears of it.
                let (again, _) = try await OIDCRouteTests.signIn(client, environment, phone: team.rohan.phone, clientID: app.client.id)
                #expect(try await OIDCRouteTests.exchange(client, code: again, app: app).status == .ok)
                environment.clock.advance(by: 31 * 24 * 3600)
                let housekeeping = Housekeeping(store: services.store, clock: services.clock, logger: TestEnvironment.logger)
                #expect(try await housekeeping.pruneOIDCOnce() >= 1)
                let keys = try await services.oidc.keys.published()
                var subjects: [String] = []
                for _ in 0..<250 where !subjects.contains(team.rohan.id) {
                    try await Task.sleep(for: .milliseconds(20))
                    subjects = received.withLock { $0 }.compactMap { JSONWebSignature.verifiedClaims(of: $0, keys: keys)?["sub"] as? String }
                }
                #expect(subjects.contains(team.meera.id) && subjects.contains(team.rohan.id))
            }
        }
    }
}
