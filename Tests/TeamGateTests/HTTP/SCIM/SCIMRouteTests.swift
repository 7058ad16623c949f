import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import TeamGate

/// The SCIM service through real HTTP: the token, the users as Entra ID and Okta write them, the role groups, and a
/// deactivation that ends every session at once.
@Suite("SCIM provisioning: /scim/v2")
struct SCIMRouteTests {
    static func token(_ services: TeamGateServices, _ team: SeededTeam) async throws -> IssuedAPIKey {
        try await services.directory.createAPIKey(organizationID: team.organization.id, name: "Entra ID", purpose: .provisioning)
    }

    static let meera = #"""
        {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
         "externalId":"8a1c","userName":"Meera.Iyer@acme.example","active":true,"displayName":"Meera Iyer",
         "emails":[{"primary":true,"type":"work","value":"meera.iyer@acme.example"}],"phoneNumbers":[{"type":"mobile","value":"919311111111"}],
         "name":{"formatted":"Meera Iyer","familyName":"Iyer","givenName":"Meera"},"roles":[],"addresses":null,
         "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Support"}}
        """#

    @Test("only a provisioning token opens /scim/v2, and it opens nothing else; every refusal is in SCIM's Error shape")
    func tokens() async throws {
        // setup
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let token = try await Self.token(services, team)
        try await environment.withLiveServer(services) { client in
            // act, check
            let withKey = try await client.scim(.get, "/Users", token: team.apiKey)
            #expect(withKey.status == .unauthorized && withKey.isSCIMError(status: "401"))
            #expect(try await client.scim(.get, "/Users", token: nil).isSCIMError(status: "401"))
            #expect(try await client.admin(.get, "/team", key: token.secret).status == .unauthorized)
            #expect(try await client.scim(.get, "/Users", token: token.secret).status == .ok)
            let unknown = try await client.scim(.get, "/Nope", token: token.secret)
            #expect(unknown.status == .notFound && unknown.isSCIMError(status: "404"))
            let wrongMethod = try await client.scim(.post, "/ServiceProviderConfig", token: token.secret, body: "{}")
            #expect(wrongMethod.status == .methodNotAllowed && wrongMethod.isSCIMError(status: "405") && wrongMethod.headers[.allow] == "GET")
            let config = try await client.scim(.get, "/ServiceProviderConfig", token: token.secret)
            #expect(config.headers[.contentType] == "application/scim+json")
            #expect((config.json["patch"] as? [String: Any])?["supported"] as? Bool == true)
            #expect((config.json["bulk"] as? [String: Any])?["supported"] as? Bool == false)
            // revoked: refused from the next request on
            _ = try await services.directory.revokeAPIKey(organizationID: team.organization.id, idOrPrefix: token.key.prefix, purpose: .provisioning)
            #expect(try await client.scim(.get, "/Users", token: token.secret).status == .unauthorized)
        }
    }

    @Test("a token another process revoked a moment ago writes nothing: each write checks it again in its own transaction")
    func revokedElsewhere() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let token = try await Self.token(services, team)
        try await environment.withLiveServer(services) { client in
            #expect(try await client.scim(.post, "/Users", token: token.secret, body: Self.meera).status == .created)
            // act: revoked behind this instance's back, as the CLI or another instance does
            _ = try await services.store.perform { work in try work.revokeAPIKey(id: token.key.id, at: environment.clock.wallClock.now()) }
            // check
            let refused = try await client.scim(
                .patch, "/Users/\(team.meera.id)", token: token.secret, body: #"{"Operations":[{"op":"replace","path":"active","value":false}]}"#)
            #expect(refused.status == .unauthorized && refused.isSCIMError(status: "401"))
            #expect(try await client.get("/me", bearer: team.meeraTokens[0]).status == .ok, "nothing was changed")
        }
    }

    @Test("Entra ID's deactivation ends every session at once: /me says deprovisioned, sign-in answers as for a stranger, reactivation undoes it")
    func deactivation() async throws {
        // setup: Meera already on the team, signed in on two devices; the directory provisions her number
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let token = try await Self.token(services, team).secret
        try await environment.withLiveServer(services) { client in
            let linked = try await client.scim(.post, "/Users", token: token, body: Self.meera)
            #expect(linked.status == .created && linked.json["id"] as? String == team.meera.id, "the directory takes the member over")
            #expect(linked.text.contains(#""value":"919311111111""#) && linked.headers[.location]?.hasSuffix("/Users/\(team.meera.id)") == true)
            // act
            let patched = try await client.scim(
                .patch, "/Users/\(team.meera.id)", token: token,
                body: #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}"#)
            // check: at once, no wait
            #expect(patched.status == .ok && patched.json["active"] as? Bool == false)
            for device in team.meeraTokens {
                let me = try await client.get("/me", bearer: device)
                #expect(me.status == .unauthorized && me.json["reason"] as? String == "deprovisioned")
            }
            let asked = try await client.post("/auth/otp", body: #"{"phoneNumber":"+919311111111"}"#)
            let stranger = try await client.post("/auth/otp", body: #"{"phoneNumber":"+14155550100"}"#)
            #expect(asked.status == stranger.status && asked.text == stranger.text)
            try await environment.settleCodeSender()
            #expect(environment.outbox.latestCode(for: team.meera.phone) == nil)
            let listed = try await client.admin(.get, "/team", key: team.apiKey)
            #expect(listed.data.first { $0["id"] as? String == team.meera.id }?["isActive"] as? Bool == false)
            let filtered = try await client.scim(.get, "/Users?filter=userName+eq+%22meera.iyer@acme.example%22", token: token)
            #expect(((filtered.json["Resources"] as? [[String: Any]])?.first?["active"]) as? Bool == false)
            let audit = try await services.directory.auditEvents(organizationID: team.organization.id)
            let event = try #require(audit.first { $0.action == .memberDeactivated })
            #expect(event.actor.hasPrefix("directory:scim_") && event.sessionsEnded == 2)
            // reactivated, she signs in again
            let back = try await client.scim(.patch, "/Users/\(team.meera.id)", token: token, body: #"{"Operations":[{"op":"replace","value":{"active":true}}]}"#)
            #expect(back.json["active"] as? Bool == true)
            #expect(try await client.post("/auth/otp", body: #"{"phoneNumber":"+919311111111"}"#).status == .accepted)
            #expect(try await environment.code(for: team.meera.phone).count == 6)
        }
    }

    @Test("userName is unique without regard to case, a number held by another directory user is a conflict, a user without one is invalid")
    func conflicts() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let token = try await Self.token(services, team).secret
        try await environment.withLiveServer(services) { client in
            #expect(try await client.scim(.post, "/Users", token: token, body: Self.meera).status == .created)
            let sameName = Self.meera.replacingOccurrences(of: "Meera.Iyer@", with: "MEERA.IYER@").replacingOccurrences(of: "919311111111", with: "14155550123")
            let taken = try await client.scim(.post, "/Users", token: token, body: sameName)
            #expect(taken.status == .conflict && taken.json["scimType"] as? String == "uniqueness" && taken.json["status"] as? String == "409")
            let sameNumber = Self.meera.replacingOccurrences(of: "Meera.Iyer@", with: "other@")
            #expect(try await client.scim(.post, "/Users", token: token, body: sameNumber).json["scimType"] as? String == "uniqueness")
            let noNumber = try await client.scim(.post, "/Users", token: token, body: #"{"userName":"nobody@acme.example"}"#)
            #expect(noNumber.status == .badRequest && noNumber.json["scimType"] as? String == "invalidValue")
            #expect((noNumber.json["detail"] as? String)?.contains("mobile") == true)
            let notJSON = try await client.scim(.post, "/Users", token: token, body: "{")
            #expect(notJSON.status == .badRequest && notJSON.json["scimType"] as? String == "invalidSyntax")
        }
    }

    @Test("a role group's members hold its role: add gives it, remove returns them to assigned chats, the Owner's group changes by no door")
    func groups() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let token = try await Self.token(services, team).secret
        try await environment.withLiveServer(services) { client in
            _ = try await client.scim(.post, "/Users", token: token, body: Self.meera)
            let add = try await client.scim(
                .patch, "/Groups/2", token: token, body: #"{"Operations":[{"op":"add","path":"members","value":[{"value":"\#(team.meera.id)"}]}]}"#)
            #expect(add.status == .noContent)
            #expect(try await services.directory.member(organizationID: team.organization.id, id: team.meera.id)?.role == .teamLead)
            let group = try await client.scim(.get, "/Groups/2", token: token)
            #expect(group.json["displayName"] as? String == "Team Lead" && (group.json["members"] as? [[String: Any]])?.count == 1)
            let remove = try await client.scim(
                .patch, "/Groups/2", token: token, body: #"{"Operations":[{"op":"remove","path":"members[value eq \"\#(team.meera.id)\"]"}]}"#)
            #expect(remove.status == .noContent)
            #expect(try await services.directory.member(organizationID: team.organization.id, id: team.meera.id)?.role == .teamMemberAssignedChats)
            let owner = try await client.scim(
                .patch, "/Groups/1", token: token, body: #"{"Operations":[{"op":"add","path":"members","value":[{"value":"\#(team.meera.id)"}]}]}"#)
            #expect(owner.status == .badRequest && owner.json["scimType"] as? String == "mutability")
            #expect(try await client.scim(.post, "/Groups", token: token, body: #"{"displayName":"New"}"#).isSCIMError(status: "403"))
            // an admin's change through the API shows in SCIM reads
            let changed = try await client.admin(
                .patch, "/team-member/role", key: team.apiKey, body: #"{"memberPhoneNumber":"+919311111111","orgRole":{"roleId":3}}"#)
            #expect(changed.status == .ok)
            let user = try await client.scim(.get, "/Users/\(team.meera.id)?attributes=groups", token: token)
            #expect((user.json["groups"] as? [[String: Any]])?.first?["value"] as? String == "3")
            #expect(user.json["userName"] == nil && user.json["id"] as? String == team.meera.id)
        }
    }

    @Test("DELETE removes the member and ends their sessions; the user is then a 404, and their userName free again")
    func delete() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let token = try await Self.token(services, team).secret
        try await environment.withLiveServer(services) { client in
            _ = try await client.scim(.post, "/Users", token: token, body: Self.meera)
            #expect(try await client.scim(.delete, "/Users/\(team.meera.id)", token: token).status == .noContent)
            #expect(try await client.get("/me", bearer: team.meeraTokens[0]).json["reason"] as? String == "member_removed")
            #expect(try await client.scim(.get, "/Users/\(team.meera.id)", token: token).isSCIMError(status: "404"))
            #expect(try await client.scim(.delete, "/Users/\(team.meera.id)", token: token).isSCIMError(status: "404"))
            #expect(try await client.scim(.post, "/Users", token: token, body: Self.meera).status == .created)
        }
    }

    @Test("lists count with integers, pages in one stable order; an empty match is totalResults 0, startIndex 1, itemsPerPage 0")
    func lists() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let token = try await Self.token(services, team).secret
        try await environment.withLiveServer(services) { client in
            for index in 0..<5 {
                let body = #"{"userName":"u\#(index)@acme.example","phoneNumbers":[{"value":"+1415555020\#(index)","type":"mobile"}]}"#
                #expect(try await client.scim(.post, "/Users", token: token, body: body).status == .created)
            }
            let empty = try await client.scim(.get, "/Users?filter=userName%20eq%20%22\(UUID().uuidString)%22", token: token)
            #expect(sameJSON(empty, #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"startIndex":1,"itemsPerPage":0,"Resources":[]}"#))
            let page = try await client.scim(.get, "/Users?startIndex=2&count=2&excludedAttributes=emails,meta", token: token)
            #expect(page.json["totalResults"] as? Int == 5 && page.json["startIndex"] as? Int == 2 && page.json["itemsPerPage"] as? Int == 2)
            let all = try await client.scim(.get, "/Users", token: token)
            let names = { (list: TestResponse) in (list.json["Resources"] as? [[String: Any]])?.compactMap { $0["userName"] as? String } ?? [] }
            #expect(names(all).count == 5 && names(page) == Array(names(all)[1...2]))
            #expect((page.json["Resources"] as? [[String: Any]])?.first?["meta"] == nil)
            #expect(try await client.scim(.get, "/Users?count=many", token: token).json["scimType"] as? String == "invalidValue")
            #expect(try await client.scim(.get, "/Users?filter=userName+eq", token: token).json["scimType"] as? String == "invalidFilter")
        }
    }

    @Test("the per-token rate answers 429 with Retry-After in SCIM's shape")
    func rateLimit() async throws {
        var environment = try TestEnvironment()
        environment.configuration.rateLimitPerSecond = 1
        environment.configuration.rateLimitBurst = 2
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let token = try await Self.token(services, team).secret
        try await environment.withLiveServer(services) { client in
            var statuses: [HTTPResponse.Status] = []
            var limited: TestResponse?
            for _ in 0..<3 {
                let response = try await client.scim(.get, "/Users", token: token)
                statuses.append(response.status)
                if response.status == .tooManyRequests { limited = response }
            }
            #expect(statuses == [.ok, .ok, .tooManyRequests])
            #expect(limited?.isSCIMError(status: "429") == true && limited?.headers[.retryAfter] != nil)
        }
    }
}

extension TestClientProtocol {
    /// A SCIM call under `/scim/v2`, with the provisioning token as a bearer token and a SCIM JSON body.
    func scim(_ method: HTTPRequest.Method, _ path: String, token: String?, body: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        if body != nil { headers[.contentType] = "application/scim+json; charset=utf-8" }
        return try await execute(uri: "/scim/v2" + path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }
}

extension TestResponse {
    /// Whether the body is SCIM's Error with this status (a string, as RFC 7644 has it).
    func isSCIMError(status: String) -> Bool {
        headers[.contentType] == "application/scim+json" && json["status"] as? String == status
            && (json["schemas"] as? [String]) == ["urn:ietf:params:scim:api:messages:2.0:Error"] && json["detail"] is String
    }
}
