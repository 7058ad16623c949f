import Foundation
import Testing

@testable import TeamGate

/// Each rule once, for every actor: the rules hold whichever door asks, and the database backs the one-Owner rule.
@Suite("One actor, one rule")
struct TeamRulesTests {
    @Test("nobody becomes a second Owner: not from the CLI's path, not by a role change, for any actor")
    func oneOwner() async throws {
        // setup
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        // act + check: `teamgate members add --role 1` calls this, as the operator
        await #expect(throws: TeamGateError.ownerRoleCannotBeAssigned) {
            try await services.directory.addMember(
                organizationID: team.organization.id, name: "Second Owner", phone: try PhoneNumber(parsing: "+919800000002"), role: .owner, origin: .cli)
        }
        for origin in [RequestOrigin.cli, RequestOrigin(actor: .apiKey(try await services.apiKeys.authenticate(secret: team.apiKey)))] {
            await #expect(throws: TeamGateError.ownerRoleCannotBeAssigned) {
                try await services.directory.changeRole(organizationID: team.organization.id, phone: team.meera.phone, to: .owner, origin: origin)
            }
        }
        let owners = try await services.directory.members(organizationID: team.organization.id).filter(\.isOwner)
        #expect(owners.map(\.id) == [team.owner.id])
        await services.close()
    }

    @Test("two writes that each make an Owner, racing past the rule: the database lets one through", arguments: TestBackend.available)
    func ownerRace(backend: TestBackend) async throws {
        // setup: an organisation whose Owner is gone, so each of two role changes alone would be allowed by the index
        let environment = try TestEnvironment(backend: backend)
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        _ = try await services.store.perform { work in try work.markRemoved(memberID: team.owner.id, at: environment.clock.now) }
        // act: both straight through the store, as two instances that both checked the rule before either committed
        let outcomes = await withTaskGroup(of: Result<Void, TeamGateError>.self) { group in
            for member in [team.meera, team.rohan] {
                group.addTask {
                    var changed = member
                    changed.role = .owner
                    let promoted = changed
                    do {
                        _ = try await services.store.perform { work in try work.updateRole(of: promoted) }
                        return .success(())
                    } catch let error as TeamGateError {
                        return .failure(error)
                    } catch {
                        return .failure(.validation(["unexpected: \(error)"]))
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        // check
        #expect(outcomes.filter { if case .success = $0 { true } else { false } }.count == 1)
        #expect(outcomes.contains { if case .failure(.ownerRoleCannotBeAssigned) = $0 { true } else { false } })
        #expect(try await services.directory.members(organizationID: team.organization.id).filter { $0.isOwner && $0.isActive }.count == 1)
        await services.close()
    }

    @Test("names are checked once for every door: control characters are refused from the CLI's path too")
    func names() throws {
        #expect(throws: TeamGateError.validation(["name must be 1–200 printable characters"])) { try MemberName(parsing: "Eve\u{7}") }
        #expect(throws: TeamGateError.validation(["name must be 1–200 printable characters"])) { try MemberName(parsing: "Two\nLines") }
        #expect(throws: TeamGateError.validation(["name must be 1–200 printable characters"])) { try MemberName(parsing: "   ") }
        #expect(try MemberName(parsing: "  Meera Iyer ").text == "Meera Iyer")
    }

    @Test("a console admin, a member and a key each get the rule that fits them")
    func actors() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let lead = try await services.directory.addMember(
            organizationID: team.organization.id, name: "Lena Lead", phone: try PhoneNumber(parsing: "+919344444441"), role: .teamLead)
        let key = try await services.apiKeys.authenticate(secret: team.apiKey)
        // A Team Lead manages members below them, not the Owner; a member only themselves; the key everyone.
        #expect(TeamRules.mayManage(.consoleAdmin(lead), team.meera))
        #expect(!TeamRules.mayManage(.consoleAdmin(lead), team.owner))
        #expect(TeamRules.mayManage(.member(team.meera), team.meera))
        #expect(!TeamRules.mayManage(.member(team.meera), team.rohan))
        #expect(TeamRules.mayManage(.apiKey(key), team.owner))
        // Keys, webhooks and the whole team's logout are the Owner's, in the console.
        let asLead = RequestOrigin(actor: .consoleAdmin(lead))
        await #expect(throws: TeamGateError.notPermitted(.ownerOnly(.apiKeys))) {
            try await services.directory.createAPIKey(organizationID: team.organization.id, name: "lead's key", origin: asLead)
        }
        await #expect(throws: TeamGateError.notPermitted(.ownerOnly(.wholeTeamLogout))) {
            try await services.logout.logOutEveryone(organizationID: team.organization.id, reason: "drill", includeOwner: false, origin: asLead)
        }
        await #expect(throws: TeamGateError.notPermitted(.ownSessionOnly)) {
            try await services.logout.logOut(team.rohan.phone, organizationID: team.organization.id, origin: RequestOrigin(actor: .member(team.meera)))
        }
        for token in team.rohanTokens { #expect(try await services.signIn.currentSession(token: token).member.id == team.rohan.id) }
        await services.close()
    }
}
