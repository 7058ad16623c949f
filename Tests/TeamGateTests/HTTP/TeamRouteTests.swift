import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import TeamGate

@Suite("DoubleTick's Team API")
struct TeamRouteTests {
    @Test("GET /team lists every member in DoubleTick's shape, field by field")
    func team() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let response = try await client.admin(.get, "/team", key: team.apiKey)
            #expect(response.status == .ok)
            #expect(response.data.count == 3)
            let owner = try #require(response.data.first { $0["isOrganizationOwner"] as? Bool == true })
            #expect(
                Set(owner.keys) == [
                    "id", "name", "phone", "email", "joinDate", "reportingManager", "orgRoleName", "orgRoleId", "isOrganizationOwner", "isActive",
                ])
            #expect(owner["phone"] as? String == "919300000001")
            #expect(owner["orgRoleName"] as? String == "Owner")
            #expect(owner["orgRoleId"] as? Int == 1)
            #expect(owner["email"] is NSNull)
            #expect((owner["reportingManager"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("GET /team/member finds by agentNumber; 400 for a bad number, 404 for a stranger or another team's member")
    func member() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let acme = try await SeededTeam.make(services, name: "Acme", phoneSuffix: "1")
        let globex = try await SeededTeam.make(services, name: "Globex", phoneSuffix: "2")
        try await environment.withLiveServer(services) { client in
            let found = try await client.admin(.get, "/team/member?agentNumber=919311111111", key: acme.apiKey)
            #expect(found.status == .ok)
            #expect(found.json["name"] as? String == "Meera Iyer")
            let bad = try await client.admin(.get, "/team/member?agentNumber=abc", key: acme.apiKey)
            #expect(sameJSON(bad, #"{"statusCode":400,"message":["agentNumber must be a valid phone number"],"error":"Bad Request"}"#))
            let stranger = try await client.admin(.get, "/team/member?agentNumber=14155550100", key: acme.apiKey)
            #expect(sameJSON(stranger, #"{"statusCode":404,"message":"Team member not found","error":"Not Found"}"#))
            let other = try await client.admin(.get, "/team/member?agentNumber=\(globex.meera.phone.digits)", key: acme.apiKey)
            #expect(other.status == .notFound)
        }
    }

    @Test("POST /team/members adds all or none, with a reporting manager; per-member errors; 422 for an unknown manager")
    func addMembers() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let added = try await client.admin(
                .post, "/team/members", key: team.apiKey,
                body:
                    #"{"reportingManagerPhoneNumber":"+919300000001","members":[{"name":"Kiran","phone":"+919344444441","orgRoleId":3},{"name":"Lata","phone":"919344444442","email":"lata@example.com","orgRoleId":4}]}"#
            )
            #expect(added.status == .ok)
            #expect(sameJSON(added, #"{"success":true}"#))
            let kiran = try await client.admin(.get, "/team/member?agentNumber=919344444441", key: team.apiKey)
            #expect(((kiran.json["reportingManager"] as? [[String: Any]])?.first?["phone"] as? String) == "919300000001")

            let invalid = try await client.admin(
                .post, "/team/members", key: team.apiKey,
                body: #"{"members":[{"name":"Ok","phone":"+919344444443","orgRoleId":3},{"phone":"x","orgRoleId":7}]}"#)
            #expect(invalid.status == .badRequest)
            let messages = invalid.json["message"] as? [String] ?? []
            #expect(messages.contains("members.1.name should not be empty"))
            #expect(messages.contains("members.1.phone must be a valid phone number with country code"))
            #expect(messages.contains("members.1.orgRoleId must be a whole number from 1 to 4"))

            let noManager = try await client.admin(
                .post, "/team/members", key: team.apiKey,
                body: #"{"reportingManagerPhoneNumber":"+14155550100","members":[{"name":"Ok","phone":"+919344444443","orgRoleId":3}]}"#)
            #expect(sameJSON(noManager, #"{"statusCode":422,"message":"Reporting manager does not exist.","error":"Unprocessable Entity"}"#))

            let duplicate = try await client.admin(
                .post, "/team/members", key: team.apiKey,
                body: #"{"members":[{"name":"New","phone":"+919344444449","orgRoleId":3},{"name":"Meera","phone":"+919311111111","orgRoleId":3}]}"#)
            #expect(duplicate.status == .unprocessableContent)
            // All or none: the first member of the refused request was not added either.
            #expect(try await client.admin(.get, "/team/member?agentNumber=919344444449", key: team.apiKey).status == .notFound)
        }
    }

    @Test("DELETE /team-member removes a member and ends their sessions; they can never sign in again; the owner stays")
    func removeMember() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let removed = try await client.admin(.delete, "/team-member", key: team.apiKey, body: #"{"memberPhoneNumber":"+919311111111"}"#)
            #expect(sameJSON(removed, #"{"success":true}"#))
            for token in team.meeraTokens {
                let me = try await client.get("/me", bearer: token)
                #expect(me.json["reason"] as? String == "member_removed")
            }
            _ = try await client.post("/auth/otp", body: #"{"phoneNumber":"+919311111111"}"#)
            try await environment.settleCodeSender()
            #expect(environment.outbox.latestCode(for: team.meera.phone) == nil)
            let again = try await client.admin(.delete, "/team-member", key: team.apiKey, body: #"{"memberPhoneNumber":"+919311111111"}"#)
            #expect(sameJSON(again, #"{"statusCode":422,"message":"User not found","error":"Unprocessable Entity"}"#))
            let owner = try await client.admin(.delete, "/team-member", key: team.apiKey, body: #"{"memberPhoneNumber":"+919300000001"}"#)
            #expect(owner.status == .unprocessableContent)
            #expect(owner.json["message"] as? String == "The organisation owner cannot be removed.")
        }
    }

    @Test("PATCH /team-member/role by id or by name; the Owner role is neither given nor taken")
    func changeRole() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let byName = try await client.admin(
                .patch, "/team-member/role", key: team.apiKey, body: #"{"memberPhoneNumber":"+919322222221","orgRole":{"roleName":"Team Lead"}}"#)
            #expect(sameJSON(byName, #"{"success":true,"memberPhoneNumber":"919322222221","orgRoleId":2,"orgRoleName":"Team Lead"}"#))
            // The session check sees the new role at once.
            let me = try await client.get("/me", bearer: team.rohanTokens[0])
            #expect(((me.json["member"] as? [String: Any])?["role"] as? [String: Any])?["id"] as? Int == 2)
            let byID = try await client.admin(
                .patch, "/team-member/role", key: team.apiKey, body: #"{"memberPhoneNumber":"+919322222221","orgRole":{"roleId":4}}"#)
            #expect(byID.json["orgRoleName"] as? String == "Team Member (assigned chats)")
            let toOwner = try await client.admin(
                .patch, "/team-member/role", key: team.apiKey, body: #"{"memberPhoneNumber":"+919322222221","orgRole":{"roleId":1}}"#)
            #expect(toOwner.status == .unprocessableContent)
            let bad = try await client.admin(.patch, "/team-member/role", key: team.apiKey, body: #"{"memberPhoneNumber":"+919322222221"}"#)
            #expect(bad.status == .badRequest)
        }
    }

    @Test("GET /roles lists DoubleTick's four built-in roles")
    func roles() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let response = try await client.admin(.get, "/roles", key: team.apiKey)
            #expect(response.status == .ok)
            let roles = try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [[String: Any]])
            #expect(roles.map { $0["name"] as? String } == ["Owner", "Team Lead", "Team Member (all chats)", "Team Member (assigned chats)"])
            #expect(roles.allSatisfy { $0["type"] as? String == "ORG" && $0["isCustomRole"] as? Bool == false && $0["permissions"] is [String] })
        }
    }

    @Test("every admin endpoint refuses a missing key with 401 and keeps other organisations out")
    func isolation() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let acme = try await SeededTeam.make(services, name: "Acme", phoneSuffix: "1")
        let globex = try await SeededTeam.make(services, name: "Globex", phoneSuffix: "2")
        let target = globex.meera.phone.e164
        let sessionID = try #require(try await services.store.sessions(memberID: globex.meera.id).first?.id)
        try await environment.withLiveServer(services) { client in
            let calls: [(HTTPRequest.Method, String, String?, HTTPResponse.Status)] = [
                (.get, "/team/member?agentNumber=\(globex.meera.phone.digits)", nil, .notFound),
                (.delete, "/team-member", #"{"memberPhoneNumber":"\#(target)"}"#, .unprocessableContent),
                (.patch, "/team-member/role", #"{"memberPhoneNumber":"\#(target)","orgRole":{"roleId":4}}"#, .unprocessableContent),
                (.get, "/team-member/sessions?userPhoneNumber=\(globex.meera.phone.digits)", nil, .unprocessableContent),
                (.post, "/team-member/sessions/end", #"{"sessionId":"\#(sessionID)"}"#, .unprocessableContent),
                (.post, "/team-member/logout", #"{"userPhoneNumber":"\#(target)","dryRun":true}"#, .unprocessableContent),
                (.post, "/team-member/unlock", #"{"userPhoneNumber":"\#(target)"}"#, .unprocessableContent),
            ]
            for (method, uri, body, expected) in calls {
                let response = try await client.admin(method, uri, key: acme.apiKey, body: body)
                #expect(response.status == expected, "\(method) \(uri): \(response.text)")
                var headers: HTTPFields = [:]
                if body != nil { headers[.contentType] = "application/json" }
                let anonymous = try await client.execute(uri: uri, method: method, headers: headers, body: body.map { .init(string: $0) })
                #expect(anonymous.status == .unauthorized, "\(method) \(uri) without a key")
            }
            let everyone = try await client.admin(.post, "/team/logout-all", key: acme.apiKey, body: #"{"reason":"drill"}"#)
            #expect(everyone.status == .created)
            for token in globex.meeraTokens + globex.rohanTokens {
                #expect(try await client.get("/me", bearer: token).status == .ok)
            }
            let globexTeam = try await client.admin(.get, "/team", key: globex.apiKey)
            #expect(globexTeam.data.count == 3)
            let globexAudit = try await client.admin(.get, "/audit-events", key: globex.apiKey)
            #expect(!globexAudit.text.contains("drill"))
        }
    }
}
