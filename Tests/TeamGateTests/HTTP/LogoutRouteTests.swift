import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import TeamGate

@Suite("POST /team-member/logout")
struct LogoutRouteTests {
    @Test("201 ends every session of the member; their tokens are refused next, another member's still work")
    func logsOutMember() async throws {
        // setup
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            for token in team.meeraTokens { #expect(try await client.get("/me", bearer: token).status == .ok) }
            // act
            let response = try await client.logout(phone: "+91 93111-11111", key: team.apiKey)
            // check
            #expect(response.status == .created)
            #expect(response.json["success"] as? Bool == true)
            #expect(response.json["sessionsEnded"] as? Int == 2)
            #expect((response.json["revocationId"] as? String)?.hasPrefix("rev_") == true)
            for token in team.meeraTokens {
                let me = try await client.get("/me", bearer: token)
                #expect(me.status == .unauthorized)
                #expect(me.json["reason"] as? String == "admin_logout")
            }
            #expect(try await client.get("/me", bearer: team.rohanTokens[0]).status == .ok)
        }
    }

    @Test("a second logout is still 201, with nothing left to end")
    func idempotent() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let first = try await client.logout(phone: "919311111111", key: team.apiKey)
            #expect(first.status == .created)
            #expect(first.json["sessionsEnded"] as? Int == 2)
            let again = try await client.logout(phone: "919311111111", key: team.apiKey)
            #expect(again.status == .created)
            #expect(again.json["sessionsEnded"] as? Int == 0)
        }
    }

    @Test("the logout and who asked for it are in the audit, in one transaction")
    func audited() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let response = try await environment.withLiveServer(services) { client in
            try await client.logout(phone: "+919311111111", key: team.apiKey)
        }
        let event = try #require(try await services.directory.auditEvents(organizationID: team.organization.id).first)
        #expect(event.action == .memberLoggedOut)
        #expect(event.memberID == team.meera.id)
        #expect(event.sessionsEnded == 2)
        #expect(event.actor == "api_key:\(team.apiKey.prefix(12))")
        #expect(event.revocationID == response.json["revocationId"] as? String)
        #expect(event.requestID != nil)
        #expect(event.clientIP == "127.0.0.1")
        let key = try #require(try await services.directory.apiKeys(organizationID: team.organization.id).first)
        #expect(key.lastUsedAt != nil)
    }

    @Test(
        "the key is accepted in every header form DoubleTick's clients use",
        arguments: ["x-public-key: KEY", "Authorization: KEY", "Authorization: key KEY", "Authorization: Bearer KEY", "Authorization: bearer  KEY"]
    )
    func headerForms(form: String) async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let parts = form.split(separator: ":", maxSplits: 1)
        let headers: HTTPFields = [
            HTTPField.Name(String(parts[0]))!: parts[1].trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "KEY", with: team.apiKey)
        ]
        try await environment.withLiveServer(services) { client in
            let response = try await client.post("/team-member/logout", body: #"{"userPhoneNumber":"+919311111111"}"#, headers: headers)
            #expect(response.status == .created)
            #expect(response.json["sessionsEnded"] as? Int == 2)
        }
    }

    @Test(
        "400 with DoubleTick's body for every kind of bad payload",
        arguments: [
            ("not json", #"["Request body is not valid JSON"]"#),
            ("", #"["Request body must be a JSON object"]"#),
            (#"["+919311111111"]"#, #"["Request body must be a JSON object"]"#),
            ("{}", #"["userPhoneNumber should not be empty","userPhoneNumber must be a valid phone number with country code"]"#),
            (
                #"{"userPhoneNumber":null}"#,
                #"["userPhoneNumber should not be empty","userPhoneNumber must be a valid phone number with country code"]"#
            ),
            (
                #"{"userPhoneNumber":919311111111}"#,
                #"["userPhoneNumber must be a string","userPhoneNumber must be a valid phone number with country code"]"#
            ),
            (#"{"userPhoneNumber":"string"}"#, #"["userPhoneNumber must be a valid phone number with country code"]"#),
            (#"{"userPhoneNumber":"+91 93XX-XXXXXX"}"#, #"["userPhoneNumber must be a valid phone number with country code"]"#),
            (#"{"userPhoneNumber":"12345"}"#, #"["userPhoneNumber must be a valid phone number with country code"]"#),
            (#"{"userPhoneNumber":"+91\u00009311111111"}"#, #"["userPhoneNumber must be a valid phone number with country code"]"#),
        ]
    )
    func badPayload(body: String, messages: String) async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let response = try await client.post("/team-member/logout", body: body, headers: [HTTPField.Name("x-public-key")!: team.apiKey])
            #expect(response.status == .badRequest)
            #expect(sameJSON(response, #"{"statusCode":400,"message":\#(messages),"error":"Bad Request"}"#), "\(response.text)")
            #expect(try await client.get("/me", bearer: team.meeraTokens[0]).status == .ok)
        }
    }

    @Test("401 with DoubleTick's body for a missing, unknown or revoked key — before any payload check")
    func unauthorized() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let revoked = try await services.directory.createAPIKey(organizationID: team.organization.id, name: "old laptop")
        _ = try await services.directory.revokeAPIKey(organizationID: team.organization.id, idOrPrefix: revoked.key.prefix)
        let expected = #"{"statusCode":401,"message":"Invalid public api key","error":"Unauthorized"}"#
        try await environment.withLiveServer(services) { client in
            for key in [nil, "", "key_not-a-real-key", revoked.secret, team.apiKey + "x"] {
                let response = try await client.logout(phone: "+919311111111", key: key)
                #expect(response.status == .unauthorized)
                #expect(sameJSON(response, expected), "\(response.text)")
            }
            let badBoth = try await client.post(
                "/team-member/logout", body: "{", headers: [HTTPField.Name("x-public-key")!: "key_wrong"])
            #expect(badBoth.status == .unauthorized)
            #expect(try await client.get("/me", bearer: team.meeraTokens[0]).status == .ok)
        }
    }

    @Test("a key revoked while the server runs is refused at its next use, though this instance has already seen it valid")
    func keyRevokedAfterUse() async throws {
        // setup: the key has been used, so the server knows it as valid
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            #expect(try await client.logout(phone: "+919311111111", key: team.apiKey).status == .created)
            let newToken = try await services.signIn.openSession(for: team.meera, deviceName: "new phone")
            let key = try #require(try await services.directory.apiKeys(organizationID: team.organization.id).first)
            // act
            _ = try await services.directory.revokeAPIKey(organizationID: team.organization.id, idOrPrefix: key.id)
            let refused = try await client.logout(phone: "+919311111111", key: team.apiKey)
            // check: 401 as for any bad key, and the logout did not happen
            #expect(refused.status == .unauthorized)
            #expect(sameJSON(refused, #"{"statusCode":401,"message":"Invalid public api key","error":"Unauthorized"}"#), "\(refused.text)")
            #expect(try await client.get("/me", bearer: newToken).status == .ok)
            let locking = try await client.admin(
                .post, "/team-member/logout", key: team.apiKey, body: #"{"userPhoneNumber":"+919311111111","lockForMinutes":5}"#)
            #expect(locking.status == .unauthorized)
            let replayable = try await client.admin(
                .post, "/team-member/logout", key: team.apiKey, body: #"{"userPhoneNumber":"+919311111111"}"#, idempotencyKey: "after-revoke")
            #expect(replayable.status == .unauthorized)
            #expect(try await client.get("/me", bearer: newToken).status == .ok)
        }
    }

    @Test("a dry run queues no webhook delivery; the real logout queues one")
    func dryRunQueuesNoWebhook() async throws {
        // setup: a webhook for logouts, to a loopback receiver the operator allows
        let environment = try TestEnvironment.allowingLoopbackWebhooks()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let webhook = try await services.webhooks.create(
            organizationID: team.organization.id, url: "http://127.0.0.1:9/hook", events: WebhookEvent.allCases, origin: .cli)
        try await environment.withLiveServer(services) { client in
            // act
            let dryRun = try await client.admin(
                .post, "/team-member/logout", key: team.apiKey, body: #"{"userPhoneNumber":"+919311111111","dryRun":true}"#)
            // check
            #expect(dryRun.status == .ok)
            #expect(dryRun.json["sessionsToEnd"] as? Int == 2)
            #expect(try await services.webhooks.deliveries(organizationID: team.organization.id, id: webhook.id, origin: .cli).isEmpty)
            for token in team.meeraTokens { #expect(try await client.get("/me", bearer: token).status == .ok) }
            // The same logout for real does queue, so the empty list above is not blindness.
            #expect(try await client.logout(phone: "+919311111111", key: team.apiKey).status == .created)
            let queued = try await services.webhooks.deliveries(organizationID: team.organization.id, id: webhook.id, origin: .cli)
            #expect(queued.contains { $0.event == .teamMemberLoggedOut })
        }
    }

    @Test("422 with DoubleTick's body for a number that is not on the team")
    func notAMember() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let response = try await client.logout(phone: "+919399999999", key: team.apiKey)
            #expect(response.status == .unprocessableContent)
            #expect(sameJSON(response, #"{"statusCode":422,"message":"User is not a member of the team","error":"Unprocessable Entity"}"#))
        }
    }

    @Test("one organisation's key cannot reach another organisation's member: 422, and their sessions stay")
    func crossOrganization() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let acme = try await SeededTeam.make(services, name: "Acme", phoneSuffix: "1")
        let globex = try await SeededTeam.make(services, name: "Globex", phoneSuffix: "2")
        try await environment.withLiveServer(services) { client in
            let response = try await client.logout(phone: globex.meera.phone.e164, key: acme.apiKey)
            #expect(response.status == .unprocessableContent)
            for token in globex.meeraTokens { #expect(try await client.get("/me", bearer: token).status == .ok) }
        }
    }

    @Test("the other statuses keep the same JSON shape: 404, 405, 413, 415")
    func otherStatuses() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let key: HTTPFields = [HTTPField.Name("x-public-key")!: team.apiKey]
        try await environment.withLiveServer(services) { client in
            let missing = try await client.get("/team-member/nothing")
            #expect(missing.status == .notFound)
            #expect(sameJSON(missing, #"{"statusCode":404,"message":"Cannot GET /team-member/nothing","error":"Not Found"}"#), "\(missing.text)")

            let wrongMethod = try await client.get("/team-member/logout")
            #expect(wrongMethod.status == .methodNotAllowed)
            #expect(wrongMethod.headers[.allow] == "POST")
            #expect(wrongMethod.json["statusCode"] as? Int == 405)

            let huge = #"{"userPhoneNumber":"+919311111111","padding":""# + String(repeating: "a", count: 70_000) + #""}"#
            let tooLarge = try await client.post("/team-member/logout", body: huge, headers: key)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(tooLarge.json["error"] as? String == "Payload Too Large")

            let xml = try await client.post("/team-member/logout", body: "<a/>", headers: key, contentType: "application/xml")
            #expect(xml.status == .unsupportedMediaType)
            #expect(xml.json["statusCode"] as? Int == 415)

            // Only a JSON type: a web page can make a browser send the others (and none) cross-site unasked.
            for contentType in ["application/x-www-form-urlencoded", "text/plain", nil] as [String?] {
                let notJSON = try await client.post(
                    "/team-member/logout", body: #"{"userPhoneNumber":"+919311111111"}"#, headers: key, contentType: contentType)
                #expect(notJSON.status == .unsupportedMediaType, "\(contentType ?? "no type"): \(notJSON.status)")
                #expect(notJSON.json["message"] as? String == "Content-Type must be application/json")
            }
        }
    }
}
