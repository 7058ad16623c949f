import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import TeamGate

/// The console's own sessions: only its sign-in makes one, they go idle and end on the injected clock, a secret
/// needs a fresh code, and the cookie and the Origin check follow the scheme and host a trusted proxy forwards.
@Suite("The console's own sessions")
struct ConsoleSessionTests {
    static let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    /// A console session's cookie and CSRF token from the console's own sign-in, with the `codeNumber`-th code sent to `phone`.
    static func console(_ client: some TestClientProtocol, _ environment: TestEnvironment, _ phone: PhoneNumber, codeNumber: Int = 1) async throws -> (
        cookie: String, csrf: String
    ) {
        _ = try await client.execute(uri: "/console/otp", method: .post, headers: form, body: ByteBuffer(string: "phone=\(phone.digits)"))
        let code = try await Self.code(number: codeNumber, for: phone, environment)
        let login = try await client.execute(
            uri: "/console/login", method: .post, headers: form, body: ByteBuffer(string: "phone=\(phone.digits)&code=\(code)"))
        let cookie = String(try #require(login.headers[.setCookie]).split(separator: ";")[0])
        let token = String(cookie.split(separator: "=", maxSplits: 1)[1])
        return (cookie, SHA256.hash(data: Data("teamgate-console-csrf:\(token)".utf8)).map { String(format: "%02x", $0) }.joined())
    }

    static func page(_ client: some TestClientProtocol, _ uri: String, cookie: String) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .get, headers: [.cookie: cookie])
    }

    /// Waits for the `count`-th code sent to `phone` (codes go out after the answer).
    static func code(number count: Int, for phone: PhoneNumber, _ environment: TestEnvironment) async throws -> String {
        for _ in 0..<500 {
            if environment.outbox.count(for: phone) >= count, let code = environment.outbox.latestCode(for: phone) { return code }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw CodeNotSent(phone: phone.e164)
    }

    @Test("a device's token from /auth/login is no console cookie, and a console cookie is no bearer token")
    func kindsDoNotMix() async throws {
        // setup
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            _ = try await client.post("/auth/otp", body: #"{"phoneNumber":"\#(team.owner.phone.e164)"}"#)
            let code = try await environment.code(for: team.owner.phone)
            let login = try await client.post("/auth/login", body: MemberRouteTests.loginBody(team.owner.phone.digits, code))
            let deviceToken = try #require(login.json["token"] as? String)
            let console = try await Self.console(client, environment, team.owner.phone, codeNumber: 2)
            let consoleToken = String(console.cookie.split(separator: "=", maxSplits: 1)[1])
            // act and check: the Owner's device token as the cookie opens nothing
            let developer = try await Self.page(client, "/console/settings/developer", cookie: "tg_console=\(deviceToken)")
            #expect(developer.status == .seeOther)
            #expect(developer.headers[.location] == "/console")
            #expect(try await client.get("/me", bearer: deviceToken).status == .ok)
            // the console's cookie as a bearer token is unknown, on every member route
            #expect(try await client.get("/me", bearer: consoleToken).status == .unauthorized)
            #expect(try await client.get("/me/sessions", bearer: consoleToken).status == .unauthorized)
            #expect(try await Self.page(client, "/console/settings/developer", cookie: console.cookie).status == .ok)
        }
    }

    @Test("a console session goes idle after 30 minutes unused, each use moving it, and ends 12 hours after sign-in however used")
    func idleAndLifetime() async throws {
        // setup
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let first = try await Self.console(client, environment, team.owner.phone)
            // act and check: used every 29 minutes it stays open
            for _ in 0..<3 {
                environment.clock.advance(by: 29 * 60)
                #expect(try await Self.page(client, "/console/team", cookie: first.cookie).status == .ok)
            }
            environment.clock.advance(by: 30 * 60 + 1)
            let idle = try await Self.page(client, "/console/team", cookie: first.cookie)
            #expect(idle.status == .seeOther)
            #expect(idle.headers[.location] == "/console")
            // idle is final: a later use does not bring it back
            #expect(try await Self.page(client, "/console/team", cookie: first.cookie).status == .seeOther)

            _ = try await client.execute(uri: "/console/otp", method: .post, headers: Self.form, body: ByteBuffer(string: "phone=\(team.owner.phone.digits)"))
            let code = try await Self.code(number: 2, for: team.owner.phone, environment)
            let second = try await client.execute(
                uri: "/console/login", method: .post, headers: Self.form, body: ByteBuffer(string: "phone=\(team.owner.phone.digits)&code=\(code)"))
            let setCookie = try #require(second.headers[.setCookie])
            #expect(setCookie.contains("Max-Age=43200"))
            let cookie = String(setCookie.split(separator: ";")[0])
            for _ in 0..<(12 * 60 / 20 - 1) {
                environment.clock.advance(by: 20 * 60)
                #expect(try await Self.page(client, "/console/team", cookie: cookie).status == .ok)
            }
            environment.clock.advance(by: 20 * 60)
            #expect(try await Self.page(client, "/console/team", cookie: cookie).status == .seeOther)
        }
    }

    @Test("a use is written at most once a minute, and what one instance wrote is what another reads")
    func useIsCoalesced() async throws {
        // setup
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let session = try await Self.console(client, environment, team.owner.phone)
            let hash = SecretToken.hash(String(session.cookie.split(separator: "=", maxSplits: 1)[1]))
            let signedInAt = try #require(try await services.store.consoleSession(tokenHash: hash, at: environment.clock.now)).lastUsedAt
            // act: a use 30 s later is not written; one 61 s after sign-in is
            environment.clock.advance(by: 30)
            #expect(try await Self.page(client, "/console/team", cookie: session.cookie).status == .ok)
            #expect(try await services.store.consoleSession(tokenHash: hash, at: environment.clock.now)?.lastUsedAt == signedInAt)
            environment.clock.advance(by: 31)
            #expect(try await Self.page(client, "/console/team", cookie: session.cookie).status == .ok)
            let moved = try #require(try await services.store.consoleSession(tokenHash: hash, at: environment.clock.now)).lastUsedAt
            // check: the stored deadline, which every instance reads, moved
            #expect(abs(moved.timeIntervalSince(environment.clock.now)) < 0.01)
        }
    }

    @Test("an API key or a webhook after 5 minutes needs a fresh code: asked for, nothing made; with the code, made and shown once")
    func freshCodeBeforeSecrets() async throws {
        // setup
        let environment = try TestEnvironment.allowingLoopbackWebhooks()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let session = try await Self.console(client, environment, team.owner.phone)
            let keysBefore = try await services.directory.apiKeys(organizationID: team.organization.id).count
            // within 5 minutes of the sign-in's code: made at once, shown in the answer itself
            let quick = try await SecurityRouteTests.post(client, "/console/keys", session, form: "name=quick")
            #expect(quick.status == .created)
            #expect(quick.text.contains("Your new API key") && quick.text.contains("data-replace-url"))
            environment.clock.advance(by: 5 * 60 + 1)
            // act: later, the same form asks for a code and makes nothing
            let asked = try await SecurityRouteTests.post(client, "/console/keys", session, form: "name=Helpdesk")
            #expect(asked.status == .ok)
            #expect(asked.text.contains("Confirm it is you") && asked.text.contains("value=\"Helpdesk\""))
            #expect(try await services.directory.apiKeys(organizationID: team.organization.id).count == keysBefore + 1)
            let wrong = try await SecurityRouteTests.post(client, "/console/keys", session, form: "name=Helpdesk&code=000000")
            #expect(wrong.status == .unauthorized)
            let code = try await Self.code(number: 2, for: team.owner.phone, environment)
            let made = try await SecurityRouteTests.post(client, "/console/keys", session, form: "name=Helpdesk&code=\(code)")
            // check: made, shown, and the session replaced by the confirmed one
            #expect(made.status == .created)
            let keys = try await services.directory.apiKeys(organizationID: team.organization.id)
            #expect(keys.count == keysBefore + 2 && keys.contains { $0.name == "Helpdesk" })
            let secret = try #require(keys.first { $0.name == "Helpdesk" }).prefix
            #expect(made.text.contains(secret))
            let renewed = String(try #require(made.headers[.setCookie]).split(separator: ";")[0])
            #expect(try await Self.page(client, "/console/team", cookie: session.cookie).status == .seeOther)
            #expect(try await Self.page(client, "/console/team", cookie: renewed).status == .ok)

            // a webhook likewise, once the fresh code is old again
            environment.clock.advance(by: 5 * 60 + 1)
            let token = String(renewed.split(separator: "=", maxSplits: 1)[1])
            let renewedSession = (cookie: renewed, csrf: ConsoleAdmin(record: try #require(try await services.store.consoleSession(
                tokenHash: SecretToken.hash(token), at: environment.clock.now)), token: token, secure: false).csrf)
            let hookForm = "url=http%3A%2F%2F127.0.0.1%3A9%2Fhook&event.session.ended=on"
            let askedHook = try await SecurityRouteTests.post(client, "/console/webhooks", renewedSession, form: hookForm)
            #expect(askedHook.status == .ok && askedHook.text.contains("Confirm it is you"))
            #expect(try await services.webhooks.list(organizationID: team.organization.id, origin: .cli).isEmpty)
            let hookCode = try await Self.code(number: 3, for: team.owner.phone, environment)
            let hook = try await SecurityRouteTests.post(client, "/console/webhooks", renewedSession, form: hookForm + "&code=\(hookCode)")
            #expect(hook.status == .created && hook.text.contains("Signing secret"))
            #expect(try await services.webhooks.list(organizationID: team.organization.id, origin: .cli).count == 1)
        }
    }
}
