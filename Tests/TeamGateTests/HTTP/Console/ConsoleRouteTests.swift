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
            _ = try await client.logout(phone: team.owner.phone.e164, key: team.apiKey)
            let page = try await client.execute(uri: "/console/team", method: .get, headers: [.cookie: cookie])
            #expect(page.status == .seeOther)
        }
    }
}
