import ArgumentParser
import Foundation
import TeamGate

struct OrgCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "org", abstract: "Organisations.", subcommands: [Create.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an organisation with its owner; prints its first API key once.")

        @OptionGroup var options: StoreOptions
        @Option(help: "The organisation's name.") var name: String
        @Option(help: "The owner's login number with country code.") var ownerPhone: String
        @Option(help: "The owner's name.") var ownerName = "Owner"

        struct Output: Encodable {
            let organizationId: String
            let name: String
            let ownerMemberId: String
            let apiKey: String
            let apiKeyPrefix: String
        }

        func run() async throws {
            let services = try await options.openServices()
            let created = try await services.directory.createOrganization(
                name: try MemberName(parsing: name), ownerName: try MemberName(parsing: ownerName, field: "owner-name"), ownerPhone: try parsePhone(ownerPhone))
            let output = Output(
                organizationId: created.organization.id, name: created.organization.name, ownerMemberId: created.owner.id,
                apiKey: created.key.secret, apiKeyPrefix: created.key.key.prefix)
            if options.json { return try options.printJSON(output) }
            print("Organisation \(output.name): \(output.organizationId)")
            print("API key (shown once, do not share it publicly): \(output.apiKey)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List organisations.")
        @OptionGroup var options: StoreOptions

        struct Output: Encodable {
            let id: String
            let name: String
            let createdAt: Date
        }

        func run() async throws {
            let services = try await options.openServices()
            let organizations = try await services.directory.organizations().map { Output(id: $0.id, name: $0.name, createdAt: $0.createdAt) }
            if options.json { return try options.printJSON(organizations) }
            for organization in organizations { print("\(organization.id)  \(organization.name)") }
        }
    }
}
