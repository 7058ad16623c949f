import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import TeamGate

@Suite("Sessions, lockouts, dry-run, idempotency, org-wide logout, audit")
struct SessionToolsRouteTests {
    @Test("a member's sessions are listed, and one device can be ended alone (the shared-device case)")
    func sessionsAndEndOne() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let list = try await client.admin(.get, "/team-member/sessions?userPhoneNumber=%2B919311111111", key: team.apiKey)
            #expect(list.status == .ok)
            #expect(list.data.count == 2)
            #expect(list.data.allSatisfy { $0["state"] as? String == "active" })
            let tablet = try #require(list.data.first { $0["deviceName"] as? String == "Front-desk tablet" }?["id"] as? String)

            let ended = try await client.admin(.post, "/team-member/sessions/end", key: team.apiKey, body: #"{"sessionId":"\#(tablet)"}"#)
            #expect(ended.status == .created)
            #expect(ended.json["sessionsEnded"] as? Int == 1)
            #expect(try await client.get("/me", bearer: team.meeraTokens[1]).json["reason"] as? String == "session_revoked")
            #expect(try await client.get("/me", bearer: team.meeraTokens[0]).status == .ok)
            let again = try await client.admin(.post, "/team-member/sessions/end", key: team.apiKey, body: #"{"sessionId":"\#(tablet)"}"#)
            #expect(again.json["sessionsEnded"] as? Int == 0)
            let missing = try await client.admin(.post, "/team-member/sessions/end", key: team.apiKey, body: #"{"sessionId":"ses_nope"}"#)
            #expect(sameJSON(missing, #"{"statusCode":422,"message":"Session not found","error":"Unprocessable Entity"}"#))
            let after = try await client.admin(.get, "/team-member/sessions?userPhoneNumber=919311111111", key: team.apiKey)
            #expect(after.data.first { $0["id"] as? String == tablet }?["state"] as? String == "ended")
        }
    }

    @Test("logout with lockForMinutes: /auth/otp answers as for anyone, the member's phone hears of the lock, and sign-in works after an unlock")
    func lockAndUnlock() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let logout = try await client.admin(
                .post, "/team-member/logout", key: team.apiKey,
                body: #"{"userPhoneNumber":"+919322222221","reason":"lost phone","lockForMinutes":30}"#)
            #expect(logout.status == .created)
            let asked = try await client.post("/auth/otp", body: #"{"phoneNumber":"+919322222221"}"#)
            let stranger = try await client.post("/auth/otp", body: #"{"phoneNumber":"+14155550123"}"#)
            #expect(asked.status == .accepted && asked.text == stranger.text)
            #expect(asked.json["lockedUntil"] == nil)
            #expect(try await environment.message(for: team.rohan.phone).type == .locked)
            #expect(environment.outbox.latestCode(for: team.rohan.phone) == nil)

            let unlocked = try await client.admin(.post, "/team-member/unlock", key: team.apiKey, body: #"{"userPhoneNumber":"+919322222221"}"#)
            #expect(sameJSON(unlocked, #"{"success":true,"wasLocked":true}"#))
            #expect(try await client.post("/auth/otp", body: #"{"phoneNumber":"+919322222221"}"#).status == .accepted)
            let code = try await environment.code(for: team.rohan.phone)
            #expect(try await client.post("/auth/login", body: MemberRouteTests.loginBody("+919322222221", code)).status == .created)
            let second = try await client.admin(.post, "/team-member/unlock", key: team.apiKey, body: #"{"userPhoneNumber":"+919322222221"}"#)
            #expect(second.json["wasLocked"] as? Bool == false)
        }
    }

    @Test("a lock lifts by itself when its time is up")
    func lockExpires() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            _ = try await client.admin(
                .post, "/team-member/logout", key: team.apiKey, body: #"{"userPhoneNumber":"+919322222221","lockForMinutes":10}"#)
            environment.clock.advance(by: 9 * 60)
            #expect(try await client.post("/auth/otp", body: #"{"phoneNumber":"+919322222221"}"#).status == .accepted)
            #expect(try await environment.message(for: team.rohan.phone).type == .locked)
            environment.clock.advance(by: 61)
            #expect(try await client.post("/auth/otp", body: #"{"phoneNumber":"+919322222221"}"#).status == .accepted)
            let code = try await environment.code(for: team.rohan.phone)
            #expect(try await client.post("/auth/login", body: MemberRouteTests.loginBody("+919322222221", code)).status == .created)
        }
    }

    @Test("dryRun answers 200 with the sessions that would end, and changes nothing")
    func dryRun() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let before = try await services.directory.auditEvents(organizationID: team.organization.id).count
            let preview = try await client.admin(
                .post, "/team-member/logout", key: team.apiKey, body: #"{"userPhoneNumber":"+919311111111","dryRun":true}"#)
            #expect(preview.status == .ok)
            #expect(preview.json["dryRun"] as? Bool == true)
            #expect(preview.json["sessionsToEnd"] as? Int == 2)
            for token in team.meeraTokens { #expect(try await client.get("/me", bearer: token).status == .ok) }
            #expect(try await services.directory.auditEvents(organizationID: team.organization.id).count == before)
        }
    }

    @Test("an Idempotency-Key replays the first answer unchanged and does the work once; another body with it is 422")
    func idempotency() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let body = #"{"userPhoneNumber":"+919311111111"}"#
            let first = try await client.admin(.post, "/team-member/logout", key: team.apiKey, body: body, idempotencyKey: "retry-1")
            _ = try await services.signIn.openSession(for: team.meera, deviceName: "new phone")
            let retry = try await client.admin(.post, "/team-member/logout", key: team.apiKey, body: body, idempotencyKey: "retry-1")
            #expect(first.status == .created)
            #expect(retry.status == .created)
            #expect(retry.text == first.text)
            #expect(retry.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            let logouts = try await services.directory.auditEvents(organizationID: team.organization.id).filter { $0.action == .memberLoggedOut }
            #expect(logouts.count == 1)
            let sessions = try await services.store.sessions(memberID: team.meera.id)
            #expect(sessions.filter { $0.endedAt == nil }.count == 1)

            let reused = try await client.admin(
                .post, "/team-member/logout", key: team.apiKey, body: #"{"userPhoneNumber":"+919322222221"}"#, idempotencyKey: "retry-1")
            #expect(reused.status == .unprocessableContent)
            let tooLong = try await client.admin(
                .post, "/team-member/logout", key: team.apiKey, body: body, idempotencyKey: String(repeating: "k", count: 300))
            #expect(tooLong.status == .badRequest)
            environment.clock.advance(by: 24 * 3600 + 1)
            let later = try await client.admin(.post, "/team-member/logout", key: team.apiKey, body: body, idempotencyKey: "retry-1")
            #expect(later.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
            #expect(later.json["sessionsEnded"] as? Int == 1)
        }
    }

    @Test("logout-all ends every session but the owner's, synchronously; includeOwner ends the owner's too")
    func logoutAll() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let ownerToken = try await services.signIn.openSession(for: team.owner, deviceName: "owner laptop")
        try await environment.withLiveServer(services) { client in
            let missingReason = try await client.admin(.post, "/team/logout-all", key: team.apiKey, body: "{}")
            #expect(missingReason.status == .badRequest)
            let response = try await client.admin(.post, "/team/logout-all", key: team.apiKey, body: #"{"reason":"suspected breach"}"#)
            #expect(response.status == .created)
            #expect(response.json["membersAffected"] as? Int == 2)
            #expect(response.json["sessionsEnded"] as? Int == 3)
            for token in team.meeraTokens + team.rohanTokens {
                #expect(try await client.get("/me", bearer: token).json["reason"] as? String == "org_logout")
            }
            #expect(try await client.get("/me", bearer: ownerToken).status == .ok)
            let withOwner = try await client.admin(.post, "/team/logout-all", key: team.apiKey, body: #"{"reason":"rotate","includeOwner":true}"#)
            #expect(withOwner.json["sessionsEnded"] as? Int == 1)
            #expect(try await client.get("/me", bearer: ownerToken).status == .unauthorized)
        }
    }

    @Test("every action is in the audit with its actor and counts; pages follow the cursor; filters work")
    func audit() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let actor = "api_key:\(team.apiKey.prefix(12))"
        try await environment.withLiveServer(services) { client in
            _ = try await client.admin(
                .post, "/team-member/logout", key: team.apiKey,
                body: #"{"userPhoneNumber":"+919311111111","reason":"offboarding","lockForMinutes":5}"#)
            _ = try await client.admin(.post, "/team-member/unlock", key: team.apiKey, body: #"{"userPhoneNumber":"+919311111111"}"#)
            _ = try await client.admin(
                .patch, "/team-member/role", key: team.apiKey, body: #"{"memberPhoneNumber":"+919322222221","orgRole":{"roleId":3}}"#)
            _ = try await client.admin(
                .post, "/team/members", key: team.apiKey, body: #"{"members":[{"name":"Kiran","phone":"+919344444441","orgRoleId":3}]}"#)
            _ = try await client.admin(.delete, "/team-member", key: team.apiKey, body: #"{"memberPhoneNumber":"+919322222221"}"#)
            _ = try await client.admin(.post, "/team/logout-all", key: team.apiKey, body: #"{"reason":"drill"}"#)

            let page = try await client.admin(.get, "/audit-events?limit=100", key: team.apiKey)
            let events = page.data
            func event(_ action: String) -> [String: Any]? { events.first { $0["action"] as? String == action } }
            let logout = try #require(event("member.logged_out"))
            #expect(logout["actor"] as? String == actor)
            #expect(logout["sessionsEnded"] as? Int == 2)
            #expect(logout["reason"] as? String == "offboarding")
            #expect(logout["memberPhoneNumber"] as? String == "+919311111111")
            #expect((logout["revocationId"] as? String)?.hasPrefix("rev_") == true)
            #expect(logout["requestId"] is String && logout["clientIp"] as? String == "127.0.0.1")
            for action in ["member.locked", "member.unlocked", "member.role_changed", "member.added", "member.removed", "team.logged_out"] {
                #expect(event(action)?["actor"] as? String == actor, "\(action)")
            }
            #expect(event("member.removed")?["sessionsEnded"] as? Int == 1)

            let first = try await client.admin(.get, "/audit-events?limit=2", key: team.apiKey)
            #expect(first.data.count == 2)
            let cursor = try #require(first.json["nextCursor"] as? String)
            let second = try await client.admin(.get, "/audit-events?limit=2&cursor=\(cursor)", key: team.apiKey)
            #expect(second.data.first?["id"] as? String == events[2]["id"] as? String)
            let filtered = try await client.admin(.get, "/audit-events?action=member.removed&memberPhoneNumber=919322222221", key: team.apiKey)
            #expect(filtered.data.count == 1)
            #expect(try await client.admin(.get, "/audit-events?limit=0", key: team.apiKey).status == .badRequest)
            #expect(try await client.admin(.get, "/audit-events?action=nope", key: team.apiKey).status == .badRequest)
        }
    }
}
