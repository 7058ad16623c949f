import ArgumentParser
import Foundation
import TeamGate

/// `teamgate oidc-clients`: the apps that sign an organisation's members in through TeamGate.
struct OIDCClientsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oidc-clients", abstract: "Apps that sign members in through TeamGate (OpenID Connect clients).",
        subcommands: [Add.self, List.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register an app; its secret is printed once.")
        @OptionGroup var options: StoreOptions
        @Option(help: "Organisation id (optional when there is one).") var org: String?
        @Option(help: "The app's name, shown on the sign-in page.") var name: String
        @Option(help: "Where the app receives its code (exact; repeat for several).") var redirectUri: [String]
        @Option(help: "Where the app may send the browser after a logout (exact; repeatable).") var postLogoutRedirectUri: [String] = []
        @Option(help: "Where the app receives back-channel logout tokens.") var backchannelLogoutUri: String?
        @Flag(help: "A public app (a browser or mobile app): no secret, PKCE required.") var `public` = false
        @Option(help: "Hosts a back-channel URI may point at even on a private address, as the server's (TEAMGATE_WEBHOOK_ALLOWED_HOSTS).")
        var webhookAllowedHosts: String?

        func run() async throws {
            let services = try await options.openServices(
                alsoReading: ["webhookAllowedHosts"], extraFlags: webhookAllowedHosts.map { ["webhookAllowedHosts": $0] } ?? [:])
            let registered = try await services.oidc.register(
                OIDCClientRequest(
                    name: name, redirectURIs: redirectUri, postLogoutRedirectURIs: postLogoutRedirectUri, backchannelLogoutURI: backchannelLogoutUri,
                    isPublic: `public`),
                organizationID: try await options.organizationID(org, in: services), origin: .cli)
            if options.json { return try options.printJSON(OIDCClient.Description(registered.client, secret: registered.secret)) }
            print("App \(registered.client.id) registered for \(registered.client.name)")
            if let secret = registered.secret { print("Client secret (shown once, keep it in the app's configuration): \(secret)") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the organisation's apps.")
        @OptionGroup var options: StoreOptions
        @Option(help: "Organisation id (optional when there is one).") var org: String?

        func run() async throws {
            let services = try await options.openServices()
            let apps = try await services.oidc.apps(organizationID: try await options.organizationID(org, in: services), origin: .cli)
            if options.json { return try options.printJSON(apps.map { OIDCClient.Description($0) }) }
            for app in apps {
                print("\(app.id)  \(app.name)  \(app.isPublic ? "public" : "confidential")  \(app.redirectURIs.joined(separator: " "))")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an app; its members' sign-ins to it end.")
        @OptionGroup var options: StoreOptions
        @Option(help: "Organisation id (optional when there is one).") var org: String?
        @Argument(help: "The app's client id (app_…).") var clientID: String

        func run() async throws {
            let services = try await options.openServices()
            try await services.oidc.remove(appID: clientID, organizationID: try await options.organizationID(org, in: services), origin: .cli)
            if options.json { return try options.printJSON(["removed": clientID]) }
            print("Removed \(clientID)")
        }
    }
}

/// `teamgate oidc-keys rotate`: a new signing key for ID and logout tokens.
struct OIDCKeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oidc-keys", abstract: "The keys TeamGate signs ID and logout tokens with.", subcommands: [Rotate.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a new signing key; the previous ones stay in the JWKS for a day, so tokens they signed still verify.")
        @OptionGroup var options: StoreOptions

        func run() async throws {
            let services = try await options.openServices()
            let kid = try await services.oidc.rotateSigningKey()
            if options.json { return try options.printJSON(["kid": kid]) }
            print("Signing with key \(kid) from now on")
        }
    }
}
