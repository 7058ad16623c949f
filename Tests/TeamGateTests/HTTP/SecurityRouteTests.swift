import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import TeamGate

@Suite("Safe to expose: roles, sign-in that tells strangers nothing, bounded state")
struct SecurityRouteTests {
    /// The console cookie and CSRF token of a signed-in admin.
    static func consoleSession(_ client: some TestClientProtocol, _ environment: TestEnvironment, _ phone: PhoneNumber) async throws -> (
        cookie: String, csrf: String
    ) {
        let login = try await ConsoleRouteTests.signIn(client, environment, phone: phone)
        let cookie = String(try #require(login.headers[.setCookie]).split(separator: ";")[0])
        let token = String(cookie.split(separator: "=", maxSplits: 1)[1])
        let csrf = SHA256.hash(data: Data("teamgate-console-csrf:\(token)".utf8)).map { String(format: "%02x", $0) }.joined()
        return (cookie, csrf)
    }

    static func post(_ client: some TestClientProtocol, _ uri: String, _ session: (cookie: String, csrf: String), form: String = "") async throws
        -> TestResponse
    {
        try await client.execute(
            uri: uri, method: .post, headers: [.cookie: session.cookie, .contentType: "application/x-www-form-urlencoded"],
            body: ByteBuffer(string: "csrf=\(session.csrf)" + (form.isEmpty ? "" : "&\(form)")))
    }

    @Test("a Team Lead in the console cannot log out, lock or end a session of the Owner or another Team Lead, nor see webhooks; a member they can")
    func teamLeadLimits() async throws {
        // setup: two Team Leads
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let lead = try await services.directory.addMember(
            organizationID: team.organization.id, name: "Lena Lead", phone: try PhoneNumber(parsing: "+919344444441"), role: .teamLead)
        let peer = try await services.directory.addMember(
            organizationID: team.organization.id, name: "Pavan Peer", phone: try PhoneNumber(parsing: "+919355555551"), role: .teamLead)
        let ownerToken = try await services.signIn.openSession(for: team.owner, deviceName: "Owner's laptop")
        let peerToken = try await services.signIn.openSession(for: peer, deviceName: "Peer's phone")
        let ownerSession = try #require(try await services.store.sessions(memberID: team.owner.id).first)
        try await environment.withLiveServer(services) { client in
            let session = try await Self.consoleSession(client, environment, lead.phone)
            // act + check: the Owner and the peer are out of reach
            for target in [team.owner, peer] {
                let logout = try await Self.post(client, "/console/members/\(target.id)/logout", session, form: "lockForMinutes=60")
                #expect(logout.status == .forbidden)
                #expect(try await client.execute(uri: "/console/members/\(target.id)/logout", method: .get, headers: [.cookie: session.cookie]).status == .forbidden)
            }
            let end = try await Self.post(client, "/console/sessions/\(ownerSession.id)/end", session, form: "member=\(team.owner.id)")
            #expect(end.status == .forbidden)
            // A session id from another member's page is not found, whoever it belongs to.
            let smuggled = try await Self.post(client, "/console/sessions/\(ownerSession.id)/end", session, form: "member=\(team.meera.id)")
            #expect(smuggled.status == .notFound)
            #expect(try await client.get("/me", bearer: ownerToken).status == .ok)
            #expect(try await client.get("/me", bearer: peerToken).status == .ok)
            let owner = try #require(try await services.store.member(organizationID: team.organization.id, phone: team.owner.phone))
            #expect(owner.lockedUntil == nil)
            #expect(try await client.execute(uri: "/console/webhooks", method: .get, headers: [.cookie: session.cookie]).status == .forbidden)
            let hook = try await Self.post(client, "/console/webhooks", session, form: "url=https%3A%2F%2F93.184.216.34%2Fh&event.session.ended=on")
            #expect(hook.status == .forbidden)
            #expect(try await services.webhooks.list(organizationID: team.organization.id, origin: .cli).isEmpty)
            // A member below them they can log out.
            let allowed = try await Self.post(client, "/console/members/\(team.meera.id)/logout", session)
            #expect(allowed.status == .seeOther)
            for token in team.meeraTokens { #expect(try await client.get("/me", bearer: token).status == .unauthorized) }
        }
    }

    @Test("locks have one maximum, a week, in the API and the console; the Owner cannot be locked")
    func lockLimits() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let tooLong = try await client.admin(
                .post, "/team-member/logout", key: team.apiKey, body: #"{"userPhoneNumber":"+919311111111","lockForMinutes":10081}"#)
            #expect(tooLong.status == .badRequest)
            let week = try await client.admin(
                .post, "/team-member/logout", key: team.apiKey, body: #"{"userPhoneNumber":"+919311111111","lockForMinutes":10080}"#)
            #expect(week.status == .created)
            let owner = try await client.admin(
                .post, "/team-member/logout", key: team.apiKey, body: #"{"userPhoneNumber":"+919300000001","lockForMinutes":60}"#)
            #expect(sameJSON(owner, #"{"statusCode":422,"message":"The organisation owner cannot be locked out.","error":"Unprocessable Entity"}"#))
            // The Owner can still be logged out, as DoubleTick allows.
            #expect(try await client.logout(phone: "+919300000001", key: team.apiKey).status == .created)

            let session = try await Self.consoleSession(client, environment, team.owner.phone)
            let consoleTooLong = try await Self.post(client, "/console/members/\(team.rohan.id)/logout", session, form: "lockForMinutes=525600")
            #expect(consoleTooLong.status == .badRequest)
            let rohan = try #require(try await services.store.member(organizationID: team.organization.id, phone: team.rohan.phone))
            #expect(rohan.lockedUntil == nil)
        }
    }

    @Test("/auth/otp answers a member, a stranger, a locked and a removed member alike: status, body and headers")
    func noEnumeration() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            _ = try await client.admin(.post, "/team-member/logout", key: team.apiKey, body: #"{"userPhoneNumber":"+919322222221","lockForMinutes":60}"#)
            _ = try await client.admin(.delete, "/team-member", key: team.apiKey, body: #"{"memberPhoneNumber":"+919311111111"}"#)
            var answers: [TestResponse] = []
            for number in ["+919300000001", "+14155550123", "+919322222221", "+919311111111"] {
                answers.append(try await client.post("/auth/otp", body: #"{"phoneNumber":"\#(number)"}"#))
            }
            let first = try #require(answers.first)
            for answer in answers {
                #expect(answer.status == .accepted)
                #expect(answer.text == first.text)
                #expect(Set(answer.headers.map(\.name)) == Set(first.headers.map(\.name)))
            }
            _ = try await environment.code(for: team.owner.phone)
            #expect(try await environment.message(for: team.rohan.phone).type == .locked)
            #expect(environment.outbox.count(for: team.meera.phone) == 0)
            #expect(environment.outbox.count(for: try PhoneNumber(parsing: "+14155550123")) == 0)
        }
    }

    @Test("unknown API keys and tokens from one address are refused without a lookup once its allowance is spent; real ones keep working there")
    func unknownCredentials() async throws {
        var configured = try TestEnvironment()
        configured.configuration.unknownCredentialsPerMinute = 3
        configured.configuration.trustedProxies = [IPNetwork("127.0.0.1")!]
        let environment = configured
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let flood: HTTPFields = [.xForwardedFor: "198.51.100.9", HTTPField.Name("x-public-key")!: "key_made_up"]
            var statuses: [Int] = []
            for _ in 0..<5 {
                statuses.append(Int(try await client.post("/team-member/logout", body: #"{"userPhoneNumber":"+919311111111"}"#, headers: flood).status.code))
            }
            #expect(statuses == [401, 401, 401, 429, 429])
            var tokenFlood: HTTPFields = [.xForwardedFor: "198.51.100.10", .authorization: "Bearer tgs_made_up"]
            for _ in 0..<3 { _ = try await client.execute(uri: "/me", method: .get, headers: tokenFlood) }
            let limited = try await client.execute(uri: "/me", method: .get, headers: tokenFlood)
            #expect(limited.status == .tooManyRequests && limited.headers[.retryAfter] != nil)
            // A credential found in memory is never refused by the limit: a shared address keeps working.
            tokenFlood[.authorization] = "Bearer \(team.meeraTokens[0])"
            #expect(try await client.execute(uri: "/me", method: .get, headers: tokenFlood).status == .ok)
            // A key is in memory once it was seen valid (here from the test's own address).
            #expect(try await client.logout(phone: "+919322222221", key: team.apiKey).status == .created)
            let realKey: HTTPFields = [.xForwardedFor: "198.51.100.9", HTTPField.Name("x-public-key")!: team.apiKey]
            #expect(try await client.post("/team-member/logout", body: #"{"userPhoneNumber":"+919311111111"}"#, headers: realKey).status == .created)
        }
    }

    @Test("a lockout committed after sign-in's first look still keeps the new session out")
    func lockRace() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        _ = try await services.logout.logOut(apiKey: team.apiKey, phone: team.rohan.phone, lockForMinutes: 30, services: services)
        // The member value was read before the lock, as a sign-in racing the lockout would have it.
        await #expect(throws: TeamGateError.self) { _ = try await services.signIn.openSession(for: team.rohan, deviceName: "Racing phone") }
        #expect(try await services.store.sessions(memberID: team.rohan.id).allSatisfy { $0.endedAt != nil })
    }

    @Test("expired codes and idempotency records older than their window are pruned; fresh ones are kept")
    func pruning() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await services.signIn.sendCode(phone: team.rohan.phone)
        try await environment.withLiveServer(services) { client in
            _ = try await client.admin(.post, "/team-member/logout", key: team.apiKey, body: #"{"userPhoneNumber":"+919311111111"}"#, idempotencyKey: "old-1")
        }
        let housekeeping = Housekeeping(store: services.store, clock: environment.clock.wallClock, logger: TestEnvironment.logger)
        #expect(try await housekeeping.pruneOnce() == (0, 0))
        environment.clock.advance(by: Retention.idempotencyReplay + 60)
        try await services.signIn.sendCode(phone: team.meera.phone)
        #expect(try await housekeeping.pruneOnce() == (1, 1))
        let code = try #require(environment.outbox.latestCode(for: team.meera.phone))
        let signedIn = try await services.signIn.signIn(
            phone: team.meera.phone, code: code, deviceName: "Kept", organizationID: nil, userAgent: nil, ipAddress: "192.0.2.1")
        #expect(signedIn.member.id == team.meera.id)
    }

    @Test("an audit cursor of one organisation is refused in another")
    func auditCursorPerOrganisation() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let first = try await SeededTeam.make(services)
        let second = try await SeededTeam.make(services, name: "Other Co", phoneSuffix: "2")
        try await environment.withLiveServer(services) { client in
            let page = try await client.admin(.get, "/audit-events?limit=1", key: first.apiKey)
            let cursor = try #require(page.json["nextCursor"] as? String)
            #expect(Int(cursor) == nil)
            #expect(try await client.admin(.get, "/audit-events?limit=1&cursor=\(cursor)", key: first.apiKey).status == .ok)
            #expect(try await client.admin(.get, "/audit-events?limit=1&cursor=\(cursor)", key: second.apiKey).status == .badRequest)
        }
    }
}
