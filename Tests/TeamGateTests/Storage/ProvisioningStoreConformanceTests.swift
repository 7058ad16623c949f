import Foundation
import Testing

@testable import TeamGate

/// The directory users' storage, the same on both backends.
@Suite("Store conformance: directory users (SQLite and PostgreSQL)")
struct ProvisioningStoreConformanceTests {
    static func user(_ member: TeamMember, userName: String, externalID: String? = nil, at date: Date) -> SCIMUser {
        SCIMUser(
            memberID: member.id, organizationID: member.organizationID, userName: userName, externalID: externalID,
            attributes: .object([("userName", .string(userName)), ("phoneNumbers", .array([.object([("value", .string(member.phone.digits))])]))]),
            createdAt: date, updatedAt: date)
    }

    @Test("lookups by userName (any case), externalId and id are exact; counts and pages agree; a removed member leaves the directory", arguments: TestBackend.available)
    func lookups(backend: TestBackend) async throws {
        // setup
        let environment = try TestEnvironment(backend: backend)
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let other = try await SeededTeam.make(services, name: "Globex", phoneSuffix: "2")
        let now = environment.clock.wallClock.now()
        // act
        _ = try await services.store.perform { work in
            try work.insertSCIMUser(Self.user(team.meera, userName: "Meera@Acme.example", externalID: "ext-1", at: now))
            try work.insertSCIMUser(Self.user(team.rohan, userName: "rohan@acme.example", at: now.addingTimeInterval(1)))
            try work.insertSCIMUser(Self.user(other.meera, userName: "meera@acme.example", at: now))
        }
        // check
        let organization = team.organization.id
        let byName = try await services.store.scimUsers(organizationID: organization, attribute: "username", equals: "MEERA@acme.EXAMPLE")
        #expect(byName.map(\.user.memberID) == [team.meera.id] && byName.first?.user.userName == "Meera@Acme.example")
        #expect(try await services.store.scimUsers(organizationID: organization, attribute: "externalid", equals: "ext-1").count == 1)
        #expect(try await services.store.scimUsers(organizationID: organization, attribute: "externalid", equals: "EXT-1").isEmpty)
        #expect(try await services.store.scimUsers(organizationID: organization, attribute: "id", equals: team.rohan.id).first?.member.name == team.rohan.name)
        #expect(try await services.store.scimUserCount(organizationID: organization) == 2)
        let page = try await services.store.scimUsers(organizationID: organization, offset: 1, limit: 10)
        #expect(page.map(\.user.memberID) == [team.rohan.id])
        #expect(try await services.store.scimUser(memberID: other.meera.id, organizationID: organization) == nil, "another organisation's is not found")
        #expect(try await services.store.scimUsers(organizationID: organization, role: .teamMemberAllChats).map(\.memberID) == [team.meera.id])
        // a removal by any door takes the directory user with it
        _ = try await services.directory.removeMember(organizationID: organization, phone: team.rohan.phone, origin: .cli)
        #expect(try await services.store.scimUserCount(organizationID: organization) == 1)
    }

    @Test("a taken userName is refused in any case, a taken number too; a deactivated member cannot be found to sign in", arguments: TestBackend.available)
    func rules(backend: TestBackend) async throws {
        let environment = try TestEnvironment(backend: backend)
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let now = environment.clock.wallClock.now()
        _ = try await services.store.perform { work in try work.insertSCIMUser(Self.user(team.meera, userName: "meera", at: now)) }
        await #expect(throws: TeamGateError.userNameTaken) {
            _ = try await services.store.perform { work in try work.insertSCIMUser(Self.user(team.rohan, userName: "MEERA", at: now)) }
        }
        var change = team.rohan
        change.phone = team.meera.phone
        let moved = change
        await #expect(throws: TeamGateError.memberExists) { _ = try await services.store.perform { work in try work.updateProfile(of: moved) } }
        // act
        _ = try await services.store.perform { work in try work.setDeactivated(memberID: team.meera.id, at: now) }
        // check
        #expect(try await services.store.activeMembers(phone: team.meera.phone).isEmpty)
        #expect(try await services.store.perform { work in try work.activeMember(id: team.meera.id) == nil }.value)
        #expect(try await services.store.member(organizationID: team.organization.id, phone: team.meera.phone)?.isDeactivated == true)
        _ = try await services.store.perform { work in try work.setDeactivated(memberID: team.meera.id, at: nil) }
        #expect(try await services.store.activeMembers(phone: team.meera.phone).map(\.id) == [team.meera.id])
    }
}
