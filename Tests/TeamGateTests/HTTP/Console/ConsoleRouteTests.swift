import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import TeamGate

@Suite("The admin console")
struct ConsoleRouteTests {
    /// Signs in through the console's forms and returns the cookie header to send.
    static func signIn(_ client: some TestClientProtocol, _ environment: TestEnvironment, phone: PhoneNumber) async throws -> TestResponse {
        let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        _ = try await client.execute(
            uri: "/console/otp", method: .post, headers: form,
            body: ByteBuffer(string: "phone=\(phone.e164.replacingOccurrences(of: "+", with: "%2B"))"))
        let code = try await environment.code(for: phone)
        return try await client.execute(
            uri: "/console/login", method: .post, headers: form, body: ByteBuffer(string: "phone=\(phone.digits)&code=\(code)"))
    }

    @Test("an owner gets an HttpOnly SameSite=Strict cookie; a form without its CSRF token is refused; a plain member is refused")
    func access() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let login = try await Self.signIn(client, environment, phone: team.owner.phone)
            #expect(login.status == .seeOther)
            let setCookie = try #require(login.headers[.setCookie])
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Path=/console"))
            let cookie = String(setCookie.split(separator: ";")[0])
            let page = try await client.execute(uri: "/console/team", method: .get, headers: [.cookie: cookie])
            #expect(page.status == .ok)
            #expect(page.text.contains("Meera Iyer"))

            let forged = try await client.execute(
                uri: "/console/members/\(team.meera.id)/logout", method: .post,
                headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: "reason=x"))
            #expect(forged.status == .forbidden)
            for token in team.meeraTokens { #expect(try await client.get("/me", bearer: token).status == .ok) }

            let plain = try await Self.signIn(client, environment, phone: team.meera.phone)
            #expect(plain.status == .forbidden)
            #expect(plain.headers[.setCookie] == nil)
            #expect(try await client.execute(uri: "/console/team", method: .get).status == .seeOther)
        }
    }

    @Test("an admin logout ends the console session like any other")
    func consoleSessionEnds() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let login = try await Self.signIn(client, environment, phone: team.owner.phone)
            let cookie = String(try #require(login.headers[.setCookie]).split(separator: ";")[0])
            let logout = try await client.logout(phone: team.owner.phone.e164, key: team.apiKey)
            #expect(logout.status == .created)
            #expect(logout.json["sessionsEnded"] as? Int == 1)
            let page = try await client.execute(uri: "/console/team", method: .get, headers: [.cookie: cookie])
            #expect(page.status == .seeOther)
            #expect(page.headers[.location] == "/console")
        }
    }

    @Test("a form with a valid CSRF token but a foreign Origin is 403 and changes nothing; the same form from no foreign origin works")
    func foreignOriginRefused() async throws {
        // setup
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let session = try await SecurityRouteTests.consoleSession(client, environment, team.owner.phone)
            let auditBefore = try await services.directory.auditEvents(organizationID: team.organization.id).count
            // act: the admin's own cookie and token, sent by a page on another site
            let forged = try await client.execute(
                uri: "/console/members/\(team.meera.id)/logout", method: .post,
                headers: [
                    .cookie: session.cookie, .contentType: "application/x-www-form-urlencoded", HTTPField.Name("Origin")!: "http://evil.example",
                ],
                body: ByteBuffer(string: "csrf=\(session.csrf)&lockForMinutes=60"))
            // check: refused, and nothing happened
            #expect(forged.status == .forbidden)
            for token in team.meeraTokens { #expect(try await client.get("/me", bearer: token).status == .ok) }
            let meera = try #require(try await services.store.member(organizationID: team.organization.id, phone: team.meera.phone))
            #expect(meera.lockedUntil == nil)
            #expect(try await services.directory.auditEvents(organizationID: team.organization.id).count == auditBefore)
            // The token itself was good: without the foreign Origin the same form logs Meera out.
            let genuine = try await SecurityRouteTests.post(client, "/console/members/\(team.meera.id)/logout", session)
            #expect(genuine.status == .seeOther)
            for token in team.meeraTokens { #expect(try await client.get("/me", bearer: token).status == .unauthorized) }
        }
    }

    @Test("after the admin signs out of the console, the replayed cookie is refused: pages send to sign-in, forms are 403")
    func replayedCookieAfterSignOut() async throws {
        // setup
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let session = try await SecurityRouteTests.consoleSession(client, environment, team.owner.phone)
            // act
            let signOut = try await SecurityRouteTests.post(client, "/console/logout", session)
            #expect(signOut.status == .seeOther)
            #expect(signOut.headers[.location] == "/console")
            // check: the old cookie, with its old CSRF token, opens nothing
            let page = try await client.execute(uri: "/console/team", method: .get, headers: [.cookie: session.cookie])
            #expect(page.status == .seeOther)
            #expect(page.headers[.location] == "/console")
            let replayed = try await SecurityRouteTests.post(client, "/console/members/\(team.meera.id)/logout", session)
            #expect(replayed.status == .forbidden)
            for memberToken in team.meeraTokens { #expect(try await client.get("/me", bearer: memberToken).status == .ok) }
            let ended = try #require(try await services.directory.sessions(of: team.owner).first { $0.deviceName == "Admin console" })
            #expect(ended.endReason == .signedOut)
        }
    }

    @Test("ending one device in the console refuses that device's token at once and leaves the member's other devices signed in")
    func endOneDevice() async throws {
        // setup
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let session = try await SecurityRouteTests.consoleSession(client, environment, team.owner.phone)
            let ended = try await client.get("/me", bearer: team.meeraTokens[0])
            let sessionID = try #require(ended.json["sessionId"] as? String)
            // act
            let end = try await SecurityRouteTests.post(client, "/console/sessions/\(sessionID)/end", session, form: "member=\(team.meera.id)")
            // check
            #expect(end.status == .seeOther)
            #expect(end.headers[.location] == "/console/members/\(team.meera.id)")
            let refused = try await client.get("/me", bearer: team.meeraTokens[0])
            #expect(refused.status == .unauthorized)
            #expect(refused.json["reason"] as? String == "session_revoked")
            #expect(try await client.get("/me", bearer: team.meeraTokens[1]).status == .ok)
            #expect(try await client.get("/me", bearer: team.rohanTokens[0]).status == .ok)
        }
    }

    @Test("Unlock, key revoke and webhook delete in the console are audited with the admin as actor")
    func consoleActionsAudited() async throws {
        // setup: Rohan locked (before the webhook exists, so nothing is queued for it), a second key, a webhook
        let environment = try TestEnvironment.allowingLoopbackWebhooks()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        _ = try await services.logout.logOut(apiKey: team.apiKey, phone: team.rohan.phone, lockForMinutes: 30, services: services)
        let spare = try await services.directory.createAPIKey(organizationID: team.organization.id, name: "spare laptop")
        let webhook = try await services.webhooks.create(
            organizationID: team.organization.id, url: "http://127.0.0.1:9/hook", events: [.teamMemberRemoved], origin: .cli)
        try await environment.withLiveServer(services) { client in
            let session = try await SecurityRouteTests.consoleSession(client, environment, team.owner.phone)
            // act
            let unlock = try await SecurityRouteTests.post(client, "/console/members/\(team.rohan.id)/unlock", session)
            let revoke = try await SecurityRouteTests.post(client, "/console/keys/\(spare.key.id)/revoke", session)
            let delete = try await SecurityRouteTests.post(client, "/console/webhooks/\(webhook.id)/delete", session)
            // check: each done, and audited once with the admin as actor
            #expect([unlock.status, revoke.status, delete.status] == [.seeOther, .seeOther, .seeOther])
            let rohan = try #require(try await services.store.member(organizationID: team.organization.id, phone: team.rohan.phone))
            #expect(rohan.lockedUntil == nil)
            #expect(try await services.directory.apiKeys(organizationID: team.organization.id).first { $0.id == spare.key.id }?.isRevoked == true)
            #expect(try await services.webhooks.list(organizationID: team.organization.id, origin: .cli).isEmpty)
            let events = try await services.directory.auditEvents(organizationID: team.organization.id)
            for action in [AuditAction.memberUnlocked, .apiKeyRevoked, .webhookDeleted] {
                let matching = events.filter { $0.action == action }
                #expect(matching.count == 1, "\(action)")
                #expect(matching.first?.actor == "member:\(team.owner.id)", "\(action)")
            }
        }
    }
}
