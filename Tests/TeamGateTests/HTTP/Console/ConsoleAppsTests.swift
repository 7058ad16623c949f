import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import TeamGate

@Suite("Console: Settings → Apps")
struct ConsoleAppsTests {
    @Test("the Owner registers an app (secret shown once) and removes it; a Team Lead can do neither")
    func ownerOnly() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let lead = try await services.directory.addMember(
            organizationID: team.organization.id, name: "Lena Lead", phone: try PhoneNumber(parsing: "+919344444441"), role: .teamLead)
        try await environment.withLiveServer(services) { client in
            let owner = try await SecurityRouteTests.consoleSession(client, environment, team.owner.phone)
            // act: the Owner's code is fresh from the sign-in, so the form goes straight through
            let made = try await SecurityRouteTests.post(
                client, "/console/apps", owner,
                form: "name=Helpdesk&redirectUris=\(OIDCProvider.formEncode("https://helpdesk.example.com/cb\nhttps://helpdesk.example.com/cb2"))")
            // check
            #expect(made.status == .created)
            #expect(made.text.contains("Copy the client secret now") && made.text.contains("tgcs_"))
            let apps = try await services.oidc.apps(organizationID: team.organization.id, origin: .cli)
            #expect(apps.map(\.redirectURIs) == [["https://helpdesk.example.com/cb", "https://helpdesk.example.com/cb2"]])
            let page = try await client.execute(uri: "/console/apps", method: .get, headers: [.cookie: owner.cookie])
            #expect(page.status == .ok && page.text.contains("Helpdesk") && !page.text.contains("tgcs_"))
            // A Team Lead: refused, reading and changing.
            let leader = try await SecurityRouteTests.consoleSession(client, environment, lead.phone)
            #expect(try await client.execute(uri: "/console/apps", method: .get, headers: [.cookie: leader.cookie]).status == .forbidden)
            let refused = try await SecurityRouteTests.post(client, "/console/apps/\(apps[0].id)/remove", leader)
            #expect(refused.status == .forbidden)
            // The Owner removes it.
            let removed = try await SecurityRouteTests.post(client, "/console/apps/\(apps[0].id)/remove", owner)
            #expect(removed.status == .seeOther)
            #expect(try await services.oidc.apps(organizationID: team.organization.id, origin: .cli).isEmpty)
        }
    }
}
