import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import TeamGate

/// The OpenID Connect provider through its doors: the sign-in page, the token endpoint, userinfo, introspection,
/// revocation, RP-initiated logout, and the back-channel logouts an end of a session queues.
@Suite("OpenID Connect provider")
struct OIDCRouteTests {
    static let redirect = "https://helpdesk.example.com/callback"

    /// An app of the seeded team, confidential unless `isPublic`.
    static func app(_ services: TeamGateServices, _ team: SeededTeam, isPublic: Bool = false, backchannel: String? = nil) async throws
        -> OIDCProvider.RegisteredApp
    {
        try await services.oidc.register(
            OIDCClientRequest(
                name: "Helpdesk", redirectURIs: [redirect], postLogoutRedirectURIs: ["https://helpdesk.example.com/bye"],
                backchannelLogoutURI: backchannel, isPublic: isPublic),
            organizationID: team.organization.id, origin: .cli)
    }

    static func form(_ fields: [(String, String)]) -> String {
        fields.map { "\(OIDCProvider.formEncode($0.0))=\(OIDCProvider.formEncode($0.1))" }.joined(separator: "&")
    }

    /// The code flow through the sign-in page, as a browser does it; answers the code and the SSO cookie.
    static func signIn(
        _ client: any TestClientProtocol, _ environment: TestEnvironment, phone: PhoneNumber, clientID: String, verifier: String = "verifier-0123456789-0123456789-0123456789"
    ) async throws -> (code: String, cookie: String) {
        let parameters: [(String, String)] = [
            ("response_type", "code"), ("client_id", clientID), ("redirect_uri", redirect), ("scope", "openid profile phone offline_access"),
            ("state", "st-1"), ("nonce", "n-1"), ("code_challenge", OIDCProvider.s256(verifier)), ("code_challenge_method", "S256"),
        ]
        let previous = environment.outbox.latestCode(for: phone)
        let page = try await client.execute(uri: "/oidc/authorize?" + form(parameters), method: .get)
        #expect(page.status == .ok && page.text.contains("Phone number") && page.text.contains("Get a code"))
        let asked = try await client.post("/oidc/authorize", body: form(parameters + [("step", "code"), ("phone", phone.e164)]), contentType: "application/x-www-form-urlencoded")
        #expect(asked.status == .ok && asked.text.contains(">Code</label>"))
        // The code sent after this request: an earlier sign-in's code may still be the outbox's latest for a moment.
        var code = try await environment.code(for: phone)
        for _ in 0..<250 where code == previous {
            try await Task.sleep(for: .milliseconds(20))
            code = try await environment.code(for: phone)
        }
        let signedIn = try await client.post(
            "/oidc/authorize", body: form(parameters + [("step", "sign-in"), ("phone", phone.e164), ("code", code)]),
            contentType: "application/x-www-form-urlencoded")
        let location = try #require(signedIn.headers[.location])
        #expect(signedIn.status == .found && location.hasPrefix(redirect + "?"))
        let query = try #require(URLComponents(string: location)?.queryItems)
        #expect(query.first { $0.name == "state" }?.value == "st-1")
        let cookie = try #require(signedIn.headers[.setCookie]?.split(separator: ";").first.map(String.init))
        #expect(signedIn.headers[.setCookie]?.contains("HttpOnly") == true && signedIn.headers[.setCookie]?.contains("SameSite=Lax") == true)
        return (try #require(query.first { $0.name == "code" }?.value), cookie)
    }

    static func exchange(_ client: any TestClientProtocol, code: String, app: OIDCProvider.RegisteredApp, verifier: String = "verifier-0123456789-0123456789-0123456789")
        async throws -> TestResponse
    {
        let basic = Data("\(app.client.id):\(app.secret ?? "")".utf8).base64EncodedString()
        return try await client.post(
            "/oidc/token", body: form([("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect), ("code_verifier", verifier)]),
            headers: [.authorization: "Basic \(basic)"], contentType: "application/x-www-form-urlencoded")
    }

    static func introspect(_ client: any TestClientProtocol, _ token: String, app: OIDCProvider.RegisteredApp) async throws -> Bool? {
        let reply = try await client.post(
            "/oidc/introspect", body: form([("token", token), ("client_id", app.client.id), ("client_secret", app.secret ?? "")]),
            contentType: "application/x-www-form-urlencoded")
        return reply.json["active"] as? Bool
    }

    @Test("discovery names every endpoint and what relying parties rely on")
    func discovery() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        try await environment.withLiveServer(services) { client in
            let document = try await client.get("/.well-known/openid-configuration").json
            #expect(document["issuer"] as? String == services.oidc.issuer)
            #expect(document["token_endpoint"] as? String == services.oidc.issuer + "/oidc/token")
            #expect((document["token_endpoint_auth_methods_supported"] as? [String])?.first == "client_secret_basic")
            #expect(document["backchannel_logout_session_supported"] as? Bool == true)
            #expect(document["code_challenge_methods_supported"] as? [String] == ["S256"])
            let keys = try await client.get("/oidc/jwks").json["keys"] as? [[String: Any]]
            #expect(keys?.first?["kty"] as? String == "RSA" && keys?.first?["kid"] != nil)
        }
    }

    @Test("code flow: tokens work until the admin's logout, then introspection, userinfo and refresh refuse at once")
    func tokensDieWithTheLogout() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let app = try await Self.app(services, team)
        try await environment.withLiveServer(services) { client in
            let (code, cookie) = try await Self.signIn(client, environment, phone: team.meera.phone, clientID: app.client.id)
            let tokens = try await Self.exchange(client, code: code, app: app)
            #expect(tokens.status == .ok)
            let access = try #require(tokens.json["access_token"] as? String)
            let refresh = try #require(tokens.json["refresh_token"] as? String)
            let idToken = try #require(tokens.json["id_token"] as? String)
            let claims = try #require(JSONWebSignature.verifiedClaims(of: idToken, keys: try await services.oidc.keys.published()))
            #expect(claims["sub"] as? String == team.meera.id && claims["aud"] as? String == app.client.id && claims["nonce"] as? String == "n-1")
            #expect(claims["phone_number"] as? String == team.meera.phone.e164 && claims["sid"] is String)
            #expect(try await Self.introspect(client, access, app: app) == true)
            #expect(try await client.get("/oidc/userinfo", bearer: access).json["sub"] as? String == team.meera.id)
            // A second app sign-in with the cookie comes straight back, no page.
            let again = try await client.execute(
                uri: "/oidc/authorize?" + Self.form([("response_type", "code"), ("client_id", app.client.id), ("redirect_uri", Self.redirect), ("scope", "openid"), ("code_challenge", OIDCProvider.s256("v" + String(repeating: "x", count: 50))), ("code_challenge_method", "S256")]),
                method: .get, headers: [.cookie: cookie])
            #expect(again.status == .found && again.headers[.location]?.contains("code=") == true)
            // act
            #expect(try await client.logout(phone: team.meera.phone.e164, key: team.apiKey).status == .created)
            // check: no window
            #expect(try await Self.introspect(client, access, app: app) == false)
            let userInfo = try await client.get("/oidc/userinfo", bearer: access)
            #expect(userInfo.status == .unauthorized && userInfo.headers[HTTPField.Name("WWW-Authenticate")!]?.contains("invalid_token") == true)
            let refreshed = try await client.post(
                "/oidc/token", body: Self.form([("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", app.client.id), ("client_secret", app.secret ?? "")]),
                contentType: "application/x-www-form-urlencoded")
            #expect(refreshed.status == .badRequest && refreshed.json["error"] as? String == "invalid_grant")
            let afterLogout = try await client.execute(
                uri: "/oidc/authorize?" + Self.form([("response_type", "code"), ("client_id", app.client.id), ("redirect_uri", Self.redirect), ("scope", "openid")]),
                method: .get, headers: [.cookie: cookie])
            #expect(afterLogout.status == .ok && afterLogout.text.contains("Phone number"))
        }
    }

    @Test("refusals: unknown app and unregistered redirect get a page, a reused code revokes, PKCE mismatch and a wrong secret are refused")
    func refusals() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let app = try await Self.app(services, team)
        let publicApp = try await Self.app(services, team, isPublic: true)
        try await environment.withLiveServer(services) { client in
            let unknown = try await client.execute(uri: "/oidc/authorize?response_type=code&client_id=app_nobody&redirect_uri=https%3A%2F%2Fevil.example%2F&scope=openid", method: .get)
            #expect(unknown.status == .badRequest && unknown.headers[.location] == nil)
            let elsewhere = try await client.execute(
                uri: "/oidc/authorize?" + Self.form([("response_type", "code"), ("client_id", app.client.id), ("redirect_uri", "https://evil.example/"), ("scope", "openid")]), method: .get)
            #expect(elsewhere.status == .badRequest && elsewhere.headers[.location] == nil)
            let noPKCE = try await client.execute(
                uri: "/oidc/authorize?" + Self.form([("response_type", "code"), ("client_id", publicApp.client.id), ("redirect_uri", Self.redirect), ("scope", "openid")]), method: .get)
            #expect(noPKCE.status == .found && noPKCE.headers[.location]?.contains("error=invalid_request") == true)
            // A code used twice: the second is refused and the first use's tokens die.
            let (code, _) = try await Self.signIn(client, environment, phone: team.meera.phone, clientID: app.client.id)
            let first = try await Self.exchange(client, code: code, app: app)
            let access = try #require(first.json["access_token"] as? String)
            let second = try await Self.exchange(client, code: code, app: app)
            #expect(second.status == .badRequest && second.json["error"] as? String == "invalid_grant")
            #expect(try await Self.introspect(client, access, app: app) == false)
            // PKCE mismatch.
            let (other, _) = try await Self.signIn(client, environment, phone: team.rohan.phone, clientID: app.client.id)
            let mismatch = try await Self.exchange(client, code: other, app: app, verifier: "not-the-verifier-0123456789-0123456789-01")
            #expect(mismatch.status == .badRequest && mismatch.json["error"] as? String == "invalid_grant")
            // A wrong secret.
            let wrong = OIDCProvider.RegisteredApp(client: app.client, secret: "tgcs_wrong")
            let refused = try await Self.exchange(client, code: other, app: wrong)
            #expect(refused.status == .unauthorized && refused.json["error"] as? String == "invalid_client")
        }
    }

    @Test("a back-channel URI on a private address is refused at registration unless its host is allowed")
    func privateBackchannel() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let reply = try await client.admin(
                .post, "/oidc/clients", key: team.apiKey,
                body: #"{"name":"Wiki","redirectUris":["https://wiki.example.com/cb"],"backchannelLogoutUri":"http://10.1.2.3/logout"}"#)
            #expect(reply.status == .badRequest && reply.text.contains("backchannelLogoutUri"))
            let made = try await client.admin(.post, "/oidc/clients", key: team.apiKey, body: #"{"name":"Wiki","redirectUris":["https://wiki.example.com/cb"]}"#)
            #expect(made.status == .created && (made.json["clientSecret"] as? String)?.hasPrefix("tgcs_") == true)
            let listed = try await client.admin(.get, "/oidc/clients", key: team.apiKey)
            #expect(listed.data.count == 1 && listed.data.first?["clientSecret"] == nil)
        }
    }

    @Test("RP-initiated logout with an id_token_hint alone ends the SSO session and its apps, and goes back only to a registered URI")
    func rpInitiatedLogout() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let app = try await Self.app(services, team)
        try await environment.withLiveServer(services) { client in
            let (code, cookie) = try await Self.signIn(client, environment, phone: team.meera.phone, clientID: app.client.id)
            let tokens = try await Self.exchange(client, code: code, app: app)
            let access = try #require(tokens.json["access_token"] as? String)
            let hint = try #require(tokens.json["id_token"] as? String)
            // act
            let out = try await client.execute(
                uri: "/oidc/logout?" + Self.form([("id_token_hint", hint), ("post_logout_redirect_uri", "https://helpdesk.example.com/bye"), ("state", "s9")]),
                method: .get)
            // check
            #expect(out.status == .found && out.headers[.location] == "https://helpdesk.example.com/bye?state=s9")
            #expect(try await Self.introspect(client, access, app: app) == false)
            let page = try await client.execute(
                uri: "/oidc/authorize?" + Self.form([("response_type", "code"), ("client_id", app.client.id), ("redirect_uri", Self.redirect), ("scope", "openid")]),
                method: .get, headers: [.cookie: cookie])
            #expect(page.status == .ok && page.text.contains("Phone number"))
            let unregistered = try await client.execute(
                uri: "/oidc/logout?" + Self.form([("id_token_hint", hint), ("post_logout_redirect_uri", "https://evil.example/")]), method: .get)
            #expect(unregistered.status == .ok && unregistered.headers[.location] == nil)
        }
    }
}
