import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import TeamGate

/// Forward auth through its doors: `/auth/verify` as nginx, Caddy and Traefik ask it, `/sign-in` and `/sign-out`.
@Suite("Forward auth")
struct ForwardAuthRouteTests {
    static let originalURL = HTTPField.Name("X-Original-URL")!

    /// Trusting loopback as the proxy, sharing the cookie with example.test.
    static func environment(unknownCredentialsPerMinute: Int? = nil) throws -> TestEnvironment {
        var environment = try TestEnvironment()
        environment.configuration.trustedProxies = [IPNetwork("127.0.0.1")!]
        environment.configuration.cookieDomain = "example.test"
        environment.configuration.publicURL = "http://login.example.test:8080"
        if let unknownCredentialsPerMinute { environment.configuration.unknownCredentialsPerMinute = unknownCredentialsPerMinute }
        return environment
    }

    static func verify(_ client: any TestClientProtocol, cookie: String?, path: String = "/auth/verify", headers: HTTPFields = [:]) async throws -> TestResponse {
        var headers = headers
        if let cookie { headers[.cookie] = "other=1; \(cookie)" }
        return try await client.execute(uri: path, method: .get, headers: headers)
    }

    static func form(_ fields: [(String, String)]) -> String {
        fields.map { "\(OIDCProvider.formEncode($0.0))=\(OIDCProvider.formEncode($0.1))" }.joined(separator: "&")
    }

    /// The sign-in page's steps with `rd`, as a browser takes them; the last answer.
    static func signIn(
        _ client: any TestClientProtocol, _ environment: TestEnvironment, phone: PhoneNumber, rd: String, team: String? = nil
    ) async throws -> TestResponse {
        let page = try await client.execute(uri: "/sign-in?" + form([("rd", rd)]), method: .get)
        #expect(page.status == .ok && page.text.contains("Phone number") && page.text.contains("Get a code"))
        let previous = environment.outbox.latestCode(for: phone)
        let asked = try await client.post("/sign-in", body: form([("rd", rd), ("step", "code"), ("phone", phone.e164)]), contentType: "application/x-www-form-urlencoded")
        #expect(asked.status == .ok && asked.text.contains(">Code</label>"))
        var code = try await environment.code(for: phone)
        for _ in 0..<250 where code == previous {
            try await Task.sleep(for: .milliseconds(20))
            code = try await environment.code(for: phone)
        }
        var fields = [("rd", rd), ("step", "sign-in"), ("phone", phone.e164), ("code", code)]
        if let team { fields.append(("organizationId", team)) }
        return try await client.post("/sign-in", body: form(fields), contentType: "application/x-www-form-urlencoded")
    }

    static func cookie(of response: TestResponse) throws -> String {
        try #require(response.headers[.setCookie]?.split(separator: ";").first.map(String.init))
    }

    @Test("a live session gets the member's five headers; after the admin's 201 the very next check is refused")
    func nextRequestRefused() async throws {
        let environment = try Self.environment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client async throws in
            let cookie = "teamgate_session=\(team.meeraTokens[0])"
            let allowed = try await Self.verify(client, cookie: cookie, headers: [Self.originalURL: "http://wiki.example.test/"])
            #expect(allowed.status == .ok && allowed.headers[.cacheControl] == "no-store")
            #expect(allowed.headers[HTTPField.Name("Remote-User")!] == team.meera.id)
            #expect(allowed.headers[HTTPField.Name("Remote-Name")!] == "Meera Iyer")
            #expect(allowed.headers[HTTPField.Name("Remote-Phone")!] == team.meera.phone.e164)
            #expect(allowed.headers[HTTPField.Name("Remote-Role")!] == team.meera.role.name)
            #expect(allowed.headers[HTTPField.Name("Remote-Organization")!] == team.organization.id)
            // A session token as a bearer works alike (an app's own calls).
            #expect(try await client.get("/auth/verify", bearer: team.meeraTokens[1]).status == .ok)
            #expect(try await client.logout(phone: team.meera.phone.e164, key: team.apiKey).status == .created)
            let refused = try await Self.verify(client, cookie: cookie, headers: [Self.originalURL: "http://wiki.example.test/"])
            #expect(refused.status == .unauthorized)
            #expect(refused.headers[.location] == "http://login.example.test:8080/sign-in?rd=http%3A%2F%2Fwiki.example.test%2F")
        }
    }

    @Test("the refusal takes the asking proxy's shape, and rd decodes to exactly the original URL")
    func refusalShapes() async throws {
        let environment = try Self.environment()
        let services = try await environment.openServices()
        try await environment.withLiveServer(services) { client async throws in
            let original = "http://app.example.test:8081/reports/q?a=1&b=%20x#frag"
            let nginx = try await Self.verify(client, cookie: nil, headers: [Self.originalURL: original])
            #expect(nginx.status == .unauthorized)
            let location = try #require(nginx.headers[.location])
            let rd = URLComponents(string: location)?.queryItems?.first { $0.name == "rd" }?.value
            #expect(location.hasPrefix("http://login.example.test:8080/sign-in?rd=") && rd == original)
            let caddy = try await Self.verify(
                client, cookie: nil,
                headers: [
                    HTTPField.Name("X-Forwarded-Method")!: "GET", HTTPField.Name("X-Forwarded-Proto")!: "https",
                    HTTPField.Name("X-Forwarded-Host")!: "dash.example.test:8443", HTTPField.Name("X-Forwarded-Uri")!: "/x?y=1",
                ])
            #expect(caddy.status == .found)
            let back = caddy.headers[.location].flatMap { URLComponents(string: $0)?.queryItems?.first { $0.name == "rd" }?.value }
            #expect(back == "https://dash.example.test:8443/x?y=1")
            let script = try await Self.verify(client, cookie: nil, headers: [Self.originalURL: original, .accept: "application/json"])
            #expect(script.status == .unauthorized && script.headers[.location] == nil)
            let madeUp = try await Self.verify(client, cookie: "teamgate_session=tgs_madeup", headers: [Self.originalURL: original])
            #expect(madeUp.status == .unauthorized && madeUp.headers[.location] == location)
        }
    }

    @Test("the original URL is believed only from a trusted proxy")
    func untrustedPeer() async throws {
        var environment = try Self.environment()
        environment.configuration.trustedProxies = []
        let services = try await environment.openServices()
        try await environment.withLiveServer(services) { client async throws in
            let refused = try await Self.verify(client, cookie: nil, headers: [Self.originalURL: "http://app.example.test/"])
            #expect(refused.status == .unauthorized && refused.headers[.location] == "http://login.example.test:8080/sign-in")
        }
    }

    @Test("?role= admits only the roles it names")
    func roles() async throws {
        let environment = try Self.environment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client async throws in
            let rohan = "teamgate_session=\(team.rohanTokens[0])"
            #expect(try await Self.verify(client, cookie: rohan, path: "/auth/verify?role=Owner").status == .forbidden)
            #expect(try await Self.verify(client, cookie: rohan, path: "/auth/verify?role=Owner,\(team.rohan.role.name)".replacingOccurrences(of: " ", with: "%20")).status == .ok)
        }
    }

    @Test("/sign-in sets the shared cookie and goes back to rd; a second visit goes straight back; /sign-out ends the session")
    func signInAndOut() async throws {
        let environment = try Self.environment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client async throws in
            let rd = "http://wiki.example.test:8081/page?x=1"
            let signedIn = try await Self.signIn(client, environment, phone: team.meera.phone, rd: rd)
            #expect(signedIn.status == .found && signedIn.headers[.location] == rd)
            let setCookie = try #require(signedIn.headers[.setCookie])
            #expect(setCookie.hasPrefix("teamgate_session=tgs_") && setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Lax"))
            #expect(setCookie.contains("Domain=example.test") && !setCookie.contains("Secure"))
            let cookie = try Self.cookie(of: signedIn)
            let checked = try await Self.verify(client, cookie: cookie)
            #expect(checked.status == .ok && checked.headers[HTTPField.Name("Remote-User")!] == team.meera.id)
            // The cookie's session is a session like any other: listed with the member's devices.
            let sessions = try await services.directory.sessions(of: team.meera)
            #expect(sessions.contains { $0.deviceName == "Browser (TeamGate sign-in)" })
            let again = try await client.execute(uri: "/sign-in?" + Self.form([("rd", rd)]), method: .get, headers: [.cookie: cookie])
            #expect(again.status == .found && again.headers[.location] == rd)
            let out = try await client.execute(uri: "/sign-out?" + Self.form([("rd", "https://evil.test/")]), method: .get, headers: [.cookie: cookie])
            #expect(out.status == .ok && out.headers[.setCookie]?.contains("Max-Age=0") == true)
            #expect(try await Self.verify(client, cookie: cookie).status == .unauthorized)
            let nobody = try await client.execute(uri: "/sign-out?" + Self.form([("rd", rd)]), method: .get)
            #expect(nobody.status == .found && nobody.headers[.location] == rd)
        }
    }

    @Test("a sign-in with an rd on another site ends on TeamGate's own page")
    func openRedirectRefused() async throws {
        let environment = try Self.environment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client async throws in
            let signedIn = try await Self.signIn(client, environment, phone: team.rohan.phone, rd: "http://app.example.test@evil.test/")
            #expect(signedIn.status == .found && signedIn.headers[.location] == "/app")
        }
    }

    @Test("a number on two teams chooses one; the session is in that team")
    func severalTeams() async throws {
        let environment = try Self.environment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let other = try await services.directory.createOrganization(
            name: try MemberName(parsing: "Beta Traders"), ownerName: "Vikram Shah", ownerPhone: try PhoneNumber(parsing: "+91 93000 00099"))
        _ = try await services.directory.addMember(organizationID: other.organization.id, name: "Meera Iyer", phone: team.meera.phone)
        try await environment.withLiveServer(services) { client async throws in
            let choice = try await Self.signIn(client, environment, phone: team.meera.phone, rd: "http://wiki.example.test/")
            #expect(choice.status == .ok && choice.text.contains("Choose your team") && choice.text.contains("Beta Traders") && choice.text.contains("Acme Support"))
            let code = try await environment.code(for: team.meera.phone)
            let chosen = try await client.post(
                "/sign-in",
                body: Self.form([("rd", "http://wiki.example.test/"), ("step", "sign-in"), ("phone", team.meera.phone.e164), ("code", code), ("organizationId", other.organization.id)]),
                contentType: "application/x-www-form-urlencoded")
            #expect(chosen.status == .found)
            let checked = try await Self.verify(client, cookie: try Self.cookie(of: chosen))
            #expect(checked.headers[HTTPField.Name("Remote-Organization")!] == other.organization.id)
        }
    }

    @Test("made-up cookies are refused like none and count against the address's allowance for unknown credentials")
    func madeUpCookies() async throws {
        let environment = try Self.environment(unknownCredentialsPerMinute: 5)
        let services = try await environment.openServices()
        try await environment.withLiveServer(services) { client async throws in
            for index in 0..<8 {
                let reply = try await Self.verify(client, cookie: "teamgate_session=tgs_madeup\(index)", headers: [Self.originalURL: "http://app.example.test/"])
                #expect(reply.status == .unauthorized)
            }
            // The allowance is spent: a made-up bearer on /me from the same address is now 429.
            #expect(try await client.get("/me", bearer: "tgs_another-madeup").status == .tooManyRequests)
        }
    }
}
