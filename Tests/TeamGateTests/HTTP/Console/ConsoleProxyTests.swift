import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import TeamGate

/// Behind a trusted proxy the console sees the browser's scheme and host: the `__Host-` cookie over HTTPS, and
/// an Origin check against the forwarded host with its port. From anyone else those headers count for nothing.
@Suite("The console behind a proxy")
struct ConsoleProxyTests {
    static func headers(_ extra: HTTPFields) -> HTTPFields {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        headers.append(contentsOf: extra)
        return headers
    }

    static let forwarded: HTTPFields = [
        HTTPField.Name("X-Forwarded-Host")!: "localhost:8443", HTTPField.Name("X-Forwarded-Proto")!: "https",
        HTTPField.Name("Origin")!: "https://localhost:8443",
    ]

    static func signIn(_ client: some TestClientProtocol, _ environment: TestEnvironment, _ phone: PhoneNumber) async throws -> (TestResponse, TestResponse) {
        let otp = try await client.execute(
            uri: "/console/otp", method: .post, headers: headers(forwarded), body: ByteBuffer(string: "phone=\(phone.digits)"))
        guard otp.status == .ok else { return (otp, otp) }
        let code = try await environment.code(for: phone)
        let login = try await client.execute(
            uri: "/console/login", method: .post, headers: headers(forwarded), body: ByteBuffer(string: "phone=\(phone.digits)&code=\(code)"))
        return (otp, login)
    }

    @Test("from a trusted proxy over HTTPS: the Origin matches the forwarded host with its port, and the cookie is __Host- with Secure; Path=/")
    func trustedProxy() async throws {
        // setup
        var configured = try TestEnvironment()
        configured.configuration.trustedProxies = [try #require(IPNetwork("127.0.0.1"))]
        let environment = configured
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            // act
            let (otp, login) = try await Self.signIn(client, environment, team.owner.phone)
            // check
            #expect(otp.status == .ok)
            let setCookie = try #require(login.headers[.setCookie])
            #expect(setCookie.hasPrefix("__Host-tg_console=") && setCookie.contains("; Secure") && setCookie.contains("Path=/;"))
            let cookie = String(setCookie.split(separator: ";")[0])
            var page = Self.forwarded
            page[.cookie] = cookie
            #expect(try await client.execute(uri: "/console/team", method: .get, headers: page).status == .ok)
            // over HTTPS the plain-named cookie (which a plain-HTTP page could set) opens nothing
            page[.cookie] = "tg_console=" + cookie.split(separator: "=", maxSplits: 1)[1]
            #expect(try await client.execute(uri: "/console/team", method: .get, headers: page).status == .seeOther)
        }
    }

    @Test("from a peer not in --trusted-proxies the forwarded host and scheme are ignored: the Origin is 403 and the cookie plain")
    func untrustedPeer() async throws {
        // setup
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            // act
            let (otp, _) = try await Self.signIn(client, environment, team.owner.phone)
            // check: the request's own host (127.0.0.1 and the test port) is not the Origin's `localhost:8443`
            #expect(otp.status == .forbidden)
            // and without a foreign Origin, a forwarded proto from anyone does not make the cookie Secure
            let login = try await ConsoleRouteTests.signIn(client, environment, phone: team.owner.phone)
            let setCookie = try #require(login.headers[.setCookie])
            #expect(setCookie.hasPrefix("tg_console=") && !setCookie.contains("Secure"))
        }
    }
}
