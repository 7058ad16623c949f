import ArgumentParser
import Foundation
import TeamGate

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "An organisation's public API keys.", subcommands: [Create.self, List.self, Revoke.self])

    /// A key or a provisioning token as `--json` prints it: the secret only when just made (`apiKey` for a key,
    /// `token` with the SCIM base URL for a provisioning token).
    struct KeyOutput: Encodable {
        let id: String
        let prefix: String
        let name: String
        let createdAt: Date
        let lastUsedAt: Date?
        let revokedAt: Date?
        var apiKey: String?
        var token: String?
        var baseUrl: String?

        init(_ key: APIKey, secret: String? = nil, baseURL: String? = nil) {
            id = key.id
            prefix = key.prefix
            name = key.name
            createdAt = key.createdAt
            lastUsedAt = key.lastUsedAt
            revokedAt = key.revokedAt
            if key.purpose == .publicAPI { apiKey = secret } else { token = secret }
            baseUrl = baseURL
        }
    }

    /// A key's line in a list: id, prefix, name, state and last use.
    static func line(_ key: APIKey) -> String {
        let state = key.revokedAt.map { "revoked \($0.formatted(.iso8601))" } ?? "active"
        let used = key.lastUsedAt.map { "last used \($0.formatted(.iso8601))" } ?? "never used"
        return "\(key.id)  \(key.prefix)…  \(key.name)  \(state), \(used)"
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a key; its secret is printed once.")
        @OptionGroup var options: StoreOptions
        @Option(help: "Organisation id (optional when there is one).") var org: String?
        @Option(help: "A name to tell the key apart.") var name = "api key"

        func run() async throws {
            let services = try await options.openServices()
            let issued = try await services.directory.createAPIKey(
                organizationID: try await options.organizationID(org, in: services), name: try MemberName(parsing: name))
            if options.json { return try options.printJSON(KeyOutput(issued.key, secret: issued.secret)) }
            print("API key \(issued.key.id) (shown once, do not share it publicly): \(issued.secret)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys by prefix.")
        @OptionGroup var options: StoreOptions
        @Option(help: "Organisation id (optional when there is one).") var org: String?

        func run() async throws {
            let services = try await options.openServices()
            let keys = try await services.directory.apiKeys(organizationID: try await options.organizationID(org, in: services))
            if options.json { return try options.printJSON(keys.map { KeyOutput($0) }) }
            for key in keys { print(KeysCommand.line(key)) }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by id or prefix.")
        @OptionGroup var options: StoreOptions
        @Option(help: "Organisation id (optional when there is one).") var org: String?
        @Argument(help: "The key's id (kid_…) or prefix (key_…).") var key: String

        func run() async throws {
            let services = try await options.openServices()
            let revoked = try await services.directory.revokeAPIKey(
                organizationID: try await options.organizationID(org, in: services), idOrPrefix: key)
            if options.json { return try options.printJSON(KeyOutput(revoked)) }
            print("Revoked \(revoked.id) (\(revoked.prefix)…)")
        }
    }
}
