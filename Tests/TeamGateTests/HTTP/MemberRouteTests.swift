import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import TeamGate

@Suite("Member sign-in: /auth/otp, /auth/login, /me, /auth/logout")
struct MemberRouteTests {
    static func loginBody(_ phone: String, _ code: String, device: String = "Pixel 8", organizationID: String? = nil) -> String {
        var body = #"{"phoneNumber":"\#(phone)","code":"\#(code)","deviceName":"\#(device)""#
        if let organizationID { body += #","organizationId":"\#(organizationID)""# }
        return body + "}"
    }

    @Test("a member asks for a code, signs in, sees their profile, signs out, and the token is refused")
    func fullCycle() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let sent = try await client.post("/auth/otp", body: #"{"phoneNumber":"+91 93222 22221"}"#)
            #expect(sent.status == .accepted)
            let code = try await environment.code(for: team.rohan.phone)
            #expect(code.count == 6)

            let login = try await client.post(
                "/auth/login", body: Self.loginBody("919322222221", code), headers: [.userAgent: "TeamInbox/3.1 Android"])
            #expect(login.status == .created)
            let token = try #require(login.json["token"] as? String)
            #expect(token.hasPrefix("tgs_"))
            #expect((login.json["member"] as? [String: Any])?["phone"] as? String == "+919322222221")

            let me = try await client.get("/me", bearer: token)
            #expect(me.status == .ok)
            #expect(me.json["sessionId"] as? String == login.json["sessionId"] as? String)

            let sessions = try await services.store.sessions(memberID: team.rohan.id)
            let stored = try #require(sessions.first { $0.id == login.json["sessionId"] as? String })
            #expect(stored.deviceName == "Pixel 8")
            #expect(stored.userAgent == "TeamInbox/3.1 Android")

            var headers: HTTPFields = [.authorization: "Bearer \(token)"]
            headers[.contentType] = "application/json"
            let out = try await client.execute(uri: "/auth/logout", method: .post, headers: headers)
            #expect(out.status == .ok)
            let after = try await client.get("/me", bearer: token)
            #expect(after.status == .unauthorized)
            #expect(after.json["reason"] as? String == "signed_out")
            // The code was used once; it cannot be used again.
            #expect(try await client.post("/auth/login", body: Self.loginBody("919322222221", code)).status == .unauthorized)
        }
    }

    @Test("five wrong codes from one address stop that address, not the member at another")
    func attemptsLimited() async throws {
        var configured = try TestEnvironment()
        // The test client is one address; a trusted proxy's X-Forwarded-For stands for the others.
        configured.configuration.trustedProxies = [IPNetwork("127.0.0.1")!]
        let environment = configured
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            _ = try await client.post("/auth/otp", body: #"{"phoneNumber":"+919322222221"}"#)
            let code = try await environment.code(for: team.rohan.phone)
            let wrong = code == "000000" ? "111111" : "000000"
            let attacker: HTTPFields = [.xForwardedFor: "198.51.100.7"]
            for _ in 0..<5 {
                let response = try await client.post("/auth/login", body: Self.loginBody("+919322222221", wrong), headers: attacker)
                #expect(response.status == .unauthorized)
                #expect(response.json["message"] as? String == "Invalid or expired code")
            }
            let stopped = try await client.post("/auth/login", body: Self.loginBody("+919322222221", code), headers: attacker)
            #expect(stopped.status == .tooManyRequests)
            #expect(stopped.headers[.retryAfter] != nil)
            let member = try await client.post("/auth/login", body: Self.loginBody("+919322222221", code), headers: [.xForwardedFor: "203.0.113.9"])
            #expect(member.status == .created)
        }
    }

    @Test("a code sent before a lockout, used after it: 423 only with the right code, a wrong one is 401, and no session starts")
    func codeFromBeforeLockout() async throws {
        // setup: Rohan has a code in hand, then an admin locks him out
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            #expect(try await client.post("/auth/otp", body: #"{"phoneNumber":"+919322222221"}"#).status == .accepted)
            let code = try await environment.code(for: team.rohan.phone)
            let lock = try await client.admin(
                .post, "/team-member/logout", key: team.apiKey, body: #"{"userPhoneNumber":"+919322222221","lockForMinutes":30}"#)
            #expect(lock.status == .created)
            let sessionsBefore = try await services.store.sessions(memberID: team.rohan.id)
            // act
            let wrong = try await client.post("/auth/login", body: Self.loginBody("+919322222221", code == "000000" ? "111111" : "000000"))
            let right = try await client.post("/auth/login", body: Self.loginBody("+919322222221", code))
            // check: the lock is told only to whoever holds the code, and nothing is opened
            #expect(wrong.status == .unauthorized)
            #expect(wrong.json["lockedUntil"] == nil)
            #expect(right.status.code == 423)
            #expect(right.json["lockedUntil"] is String)
            #expect(right.json["token"] == nil)
            let sessionsAfter = try await services.store.sessions(memberID: team.rohan.id)
            #expect(sessionsAfter == sessionsBefore)
            #expect(sessionsAfter.allSatisfy { $0.endedAt != nil })
        }
    }

    @Test("a session past its lifetime is refused with reason expired; a minute before, it still works")
    func sessionExpires() async throws {
        // setup
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let lifetime = services.signIn.policy.sessionLifetime
        try await environment.withLiveServer(services) { client in
            environment.clock.advance(by: lifetime - 60)
            #expect(try await client.get("/me", bearer: team.meeraTokens[0]).status == .ok)
            // act
            environment.clock.advance(by: 61)
            // check
            for token in team.meeraTokens + team.rohanTokens {
                let me = try await client.get("/me", bearer: token)
                #expect(me.status == .unauthorized)
                #expect(me.json["reason"] as? String == "expired")
            }
        }
    }

    @Test("a code expires after five minutes")
    func codeExpires() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            _ = try await client.post("/auth/otp", body: #"{"phoneNumber":"+919322222221"}"#)
            let code = try await environment.code(for: team.rohan.phone)
            environment.clock.advance(by: 5 * 60 + 1)
            #expect(try await client.post("/auth/login", body: Self.loginBody("+919322222221", code)).status == .unauthorized)
        }
    }

    @Test("sends are limited per number and address: the sixth in 15 minutes is 429 with Retry-After, a token back every 3 minutes")
    func sendLimit() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        _ = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            for _ in 0..<5 { #expect(try await client.post("/auth/otp", body: #"{"phoneNumber":"+919322222221"}"#).status == .accepted) }
            let limited = try await client.post("/auth/otp", body: #"{"phoneNumber":"+919322222221"}"#)
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter] == "180")
            environment.clock.advance(by: 15 * 60 + 1)
            #expect(try await client.post("/auth/otp", body: #"{"phoneNumber":"+919322222221"}"#).status == .accepted)
        }
    }

    @Test("an unknown number gets the same 202 and no code: the endpoint does not reveal who is on a team")
    func unknownNumber() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        _ = try await SeededTeam.make(services)
        let stranger = try PhoneNumber(parsing: "+14155550100")
        try await environment.withLiveServer(services) { client in
            let response = try await client.post("/auth/otp", body: #"{"phoneNumber":"+14155550100"}"#)
            #expect(response.status == .accepted)
            try await environment.settleCodeSender()
            #expect(environment.outbox.latestCode(for: stranger) == nil)
            let bad = try await client.post("/auth/otp", body: #"{"phoneNumber":"hello"}"#)
            #expect(bad.status == .badRequest)
        }
    }

    @Test("a number on two teams must say which: 409 listing them, then 201 with organizationId")
    func severalOrganizations() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let acme = try await SeededTeam.make(services, name: "Acme", phoneSuffix: "1")
        let globex = try await SeededTeam.make(services, name: "Globex", phoneSuffix: "2")
        let shared = try PhoneNumber(parsing: "+919355555555")
        for organization in [acme.organization, globex.organization] {
            _ = try await services.directory.addMember(organizationID: organization.id, name: "Sam Fernandes", phone: shared)
        }
        try await environment.withLiveServer(services) { client in
            _ = try await client.post("/auth/otp", body: #"{"phoneNumber":"+919355555555"}"#)
            let code = try await environment.code(for: shared)
            let ambiguous = try await client.post("/auth/login", body: Self.loginBody("+919355555555", code))
            #expect(ambiguous.status == .conflict)
            #expect((ambiguous.json["message"] as? String)?.contains(globex.organization.id) == true)
            let chosen = try await client.post(
                "/auth/login", body: Self.loginBody("+919355555555", code, organizationID: globex.organization.id))
            #expect(chosen.status == .created)
            #expect(((chosen.json["member"] as? [String: Any])?["organization"] as? [String: Any])?["id"] as? String == globex.organization.id)
        }
    }

    @Test("GET /me/sessions lists the member's own live devices, this one first and marked, no address; none of another member's")
    func ownSessions() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let mine = try await client.get("/me/sessions", bearer: team.meeraTokens[1])
            #expect(mine.status == .ok)
            let sessions = mine.data
            #expect(sessions.map { $0["deviceName"] as? String } == ["Front-desk tablet", "iPhone"])
            #expect(sessions.map { $0["current"] as? Bool } == [true, false])
            #expect(sessions.allSatisfy { $0["ipAddress"] == nil && $0["createdAt"] is String && $0["expiresAt"] is String })

            // act: one device signs out; the other sees it gone
            #expect(try await client.execute(uri: "/auth/logout", method: .post, headers: [.authorization: "Bearer \(team.meeraTokens[0])"]).status == .ok)
            let after = try await client.get("/me/sessions", bearer: team.meeraTokens[1])
            #expect(after.data.map { $0["deviceName"] as? String } == ["Front-desk tablet"])
            // check: a signed-out token and no token are refused as on /me
            let ended = try await client.get("/me/sessions", bearer: team.meeraTokens[0])
            #expect(ended.status == .unauthorized)
            #expect(ended.json["reason"] as? String == "signed_out")
            #expect(try await client.get("/me/sessions").status == .unauthorized)
        }
        await services.close()
    }

    @Test("GET /me without a token, or with an unknown one, is 401 saying so")
    func missingToken() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        try await environment.withLiveServer(services) { client in
            let missing = try await client.get("/me")
            #expect(missing.status == .unauthorized)
            #expect(missing.json["reason"] as? String == "missing_token")
            let unknown = try await client.get("/me", bearer: "tgs_nope")
            #expect(unknown.status == .unauthorized)
            #expect(unknown.json["reason"] as? String == "unknown_session")
        }
    }

    @Test("bad sign-in bodies are 400 naming each field")
    func badLoginBody() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        try await environment.withLiveServer(services) { client in
            let response = try await client.post("/auth/login", body: #"{"phoneNumber":"x","code":"12","deviceName":7}"#)
            #expect(response.status == .badRequest)
            let messages = response.json["message"] as? [String] ?? []
            #expect(messages.contains("phoneNumber must be a valid phone number with country code"))
            #expect(messages.contains("code must be the 6 digits that were sent"))
            #expect(messages.contains("deviceName must be a string"))
        }
    }
}
