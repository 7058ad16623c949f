import ArgumentParser
import Foundation
import TeamGate

/// `teamgate scim-tokens`: the tokens a company directory (Okta, Entra ID) provisions the team with over SCIM.
struct SCIMTokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scim-tokens", abstract: "Provisioning tokens for the company directory's SCIM client (Okta, Entra ID).",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a provisioning token; it is printed once, with the base URL to paste.")
        @OptionGroup var options: StoreOptions
        @Option(help: "Organisation id (optional when there is one).") var org: String?
        @Option(help: "A name to tell the token apart (the directory it is for).") var name = "directory"
        @Option(help: "The server's public URL, as `serve --public-url` (TEAMGATE_PUBLIC_URL): the base URL printed starts here.")
        var publicUrl: String?

        func run() async throws {
            let services = try await options.openServices(alsoReading: ["publicUrl"], extraFlags: publicUrl.map { ["publicUrl": $0] } ?? [:])
            let issued = try await services.directory.createAPIKey(
                organizationID: try await options.organizationID(org, in: services), name: try MemberName(parsing: name), purpose: .provisioning)
            let baseURL = services.provisioning.baseURL
            if options.json { return try options.printJSON(KeysCommand.KeyOutput(issued.key, secret: issued.secret, baseURL: baseURL)) }
            print("SCIM base URL: \(baseURL)")
            print("Provisioning token \(issued.key.id) (shown once; paste it as the directory's secret token): \(issued.secret)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List provisioning tokens by prefix.")
        @OptionGroup var options: StoreOptions
        @Option(help: "Organisation id (optional when there is one).") var org: String?

        func run() async throws {
            let services = try await options.openServices()
            let tokens = try await services.directory.apiKeys(organizationID: try await options.organizationID(org, in: services), purpose: .provisioning)
            if options.json { return try options.printJSON(tokens.map { KeysCommand.KeyOutput($0) }) }
            for token in tokens { print(KeysCommand.line(token)) }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a provisioning token by id or prefix; the directory is refused from then on.")
        @OptionGroup var options: StoreOptions
        @Option(help: "Organisation id (optional when there is one).") var org: String?
        @Argument(help: "The token's id (kid_…) or prefix (scim_…).") var token: String

        func run() async throws {
            let services = try await options.openServices()
            let revoked = try await services.directory.revokeAPIKey(
                organizationID: try await options.organizationID(org, in: services), idOrPrefix: token, purpose: .provisioning)
            if options.json { return try options.printJSON(KeysCommand.KeyOutput(revoked)) }
            print("Revoked \(revoked.id) (\(revoked.prefix)…)")
        }
    }
}
