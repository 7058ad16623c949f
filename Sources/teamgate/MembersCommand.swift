import ArgumentParser
import Foundation
import TeamGate

struct MembersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "members", abstract: "An organisation's team members.", subcommands: [Add.self, List.self])

    struct MemberOutput: Encodable {
        let id: String
        let name: String
        let phone: String
        let email: String?
        let orgRoleId: Int
        let orgRoleName: String

        init(_ member: TeamMember) {
            id = member.id
            name = member.name
            phone = member.phone.e164
            email = member.email
            orgRoleId = member.role.id
            orgRoleName = member.role.name
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a member who signs in with their phone number.")
        @OptionGroup var options: StoreOptions
        @Option(help: "Organisation id (optional when there is one).") var org: String?
        @Option(help: "The member's name.") var name: String
        @Option(help: "Login number with country code.") var phone: String
        @Option(help: "Email address.") var email: String?
        @Option(help: "Role id or name: 1 Owner, 2 Team Lead, 3 Team Member (all chats), 4 Team Member (assigned chats).")
        var role = "3"

        func run() async throws {
            guard let role = Role(nameOrID: role) else { throw BadInput("Unknown role \(role): use 1–4 or a role's name (Team Lead, …)") }
            let services = try await options.openServices()
            let member = try await services.directory.addMember(
                organizationID: try await options.organizationID(org, in: services), name: try MemberName(parsing: name), phone: try parsePhone(phone),
                email: email, role: role)
            if options.json { return try options.printJSON(MemberOutput(member)) }
            print("Added \(member.name) \(member.phone) as \(member.role.name): \(member.id)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the team.")
        @OptionGroup var options: StoreOptions
        @Option(help: "Organisation id (optional when there is one).") var org: String?

        func run() async throws {
            let services = try await options.openServices()
            let members = try await services.directory.members(organizationID: try await options.organizationID(org, in: services))
            if options.json { return try options.printJSON(members.map(MemberOutput.init)) }
            for member in members { print("\(member.id)  \(member.phone)  \(member.name)  \(member.role.name)") }
        }
    }
}
