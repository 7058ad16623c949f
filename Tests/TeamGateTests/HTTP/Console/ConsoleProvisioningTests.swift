import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import TeamGate

@Suite("Console: Settings → Provisioning")
struct ConsoleProvisioningTests {
    @Test("the Owner makes a provisioning token (shown once, with the base URL) and revokes it; a Team Lead can do neither")
    func ownerOnly() async throws {
        // setup
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let lead = try await services.directory.addMember(
            organizationID: team.organization.id, name: "Lena Lead", phone: try PhoneNumber(parsing: "+919344444441"), role: .teamLead)
        try await environment.withLiveServer(services) { client in
            let owner = try await SecurityRouteTests.consoleSession(client, environment, team.owner.phone)
            // act: the Owner's code is fresh from the sign-in, so the form goes straight through
            let made = try await SecurityRouteTests.post(client, "/console/provisioning-tokens", owner, form: "name=Entra%20ID")
            // check
            #expect(made.status == .created && made.text.contains("scim_") && made.text.contains(services.provisioning.baseURL))
            let tokens = try await services.directory.apiKeys(organizationID: team.organization.id, purpose: .provisioning)
            #expect(tokens.map(\.name) == ["Entra ID"])
            #expect(try await services.directory.apiKeys(organizationID: team.organization.id).allSatisfy { $0.purpose == .publicAPI })
            let page = try await client.execute(uri: "/console/settings/provisioning", method: .get, headers: [.cookie: owner.cookie])
            #expect(page.status == .ok && page.text.contains(tokens[0].prefix) && !page.text.contains("value=\"scim_"), "listed by prefix, never shown again")
            let leader = try await SecurityRouteTests.consoleSession(client, environment, lead.phone)
            #expect(try await client.execute(uri: "/console/settings/provisioning", method: .get, headers: [.cookie: leader.cookie]).status == .forbidden)
            #expect(try await SecurityRouteTests.post(client, "/console/provisioning-tokens/\(tokens[0].id)/revoke", leader).status == .forbidden)
            // an API key's revoke form does not reach a token
            #expect(try await SecurityRouteTests.post(client, "/console/keys/\(tokens[0].id)/revoke", owner).status == .notFound)
            #expect(try await SecurityRouteTests.post(client, "/console/provisioning-tokens/\(tokens[0].id)/revoke", owner).status == .seeOther)
            #expect(try await services.directory.apiKeys(organizationID: team.organization.id, purpose: .provisioning).first?.isRevoked == true)
        }
    }

    @Test("a member the directory deactivated is shown so on the Team page")
    func deactivatedShown() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let token = try await SCIMRouteTests.token(services, team).secret
        try await environment.withLiveServer(services) { client in
            _ = try await client.scim(.post, "/Users", token: token, body: SCIMRouteTests.meera)
            _ = try await client.scim(.patch, "/Users/\(team.meera.id)", token: token, body: #"{"Operations":[{"op":"replace","path":"active","value":false}]}"#)
            let owner = try await SecurityRouteTests.consoleSession(client, environment, team.owner.phone)
            let page = try await client.execute(uri: "/console/team", method: .get, headers: [.cookie: owner.cookie])
            let row = page.text.components(separatedBy: "<tr data-member=\"\(team.meera.phone.e164)\"").dropFirst().first?.components(separatedBy: "</tr>").first
            #expect(row?.contains("Deactivated by the directory") == true, "\(row ?? "no row")")
        }
    }
}
