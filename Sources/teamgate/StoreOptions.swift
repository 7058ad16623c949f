import ArgumentParser
import Foundation
import Logging
import TeamGate

/// Options every setup command shares: which database, and whether to print JSON for scripts.
struct StoreOptions: ParsableArguments {
    // The database settings of the table (TeamGateConfiguration.databaseSettings), each under its own key's flag.
    @Option(help: StoreOptions.help("database")) var database: String?
    @Option(help: StoreOptions.help("postgresPoolSize")) var postgresPoolSize: String?

    @Flag(help: "Print JSON instead of text.")
    var json = false

    /// The table's help for the setting `key`, with its variable.
    private static func help(_ key: String) -> ArgumentHelp {
        let setting = TeamGateConfiguration.databaseSettings.first { $0.key == key }
        return ArgumentHelp(setting.map { "\($0.help) (\($0.environmentVariable))".replacingOccurrences(of: "`", with: "") } ?? "")
    }

    /// Opens the database the flags name, else `TEAMGATE_DATABASE`, else the default, as `serve` would.
    /// `alsoReading` names further settings of the table the command honours (given as flags in `extraFlags`, or by
    /// their variables), as `oidc-clients add` honours the server's `--webhook-allowed-hosts`.
    func openServices(alsoReading keys: [String] = [], extraFlags: [String: String] = [:]) async throws -> TeamGateServices {
        var flags = extraFlags
        flags["database"] = database
        flags["postgresPoolSize"] = postgresPoolSize
        let settings = TeamGateConfiguration.databaseSettings + TeamGateConfiguration.settings.filter { keys.contains($0.key) }
        let configuration = try readConfiguration { () throws(ConfigurationError) in
            try TeamGateConfiguration(reader: TeamGateConfiguration.reader(flags: flags), settings: settings)
        }
        // The commands print what they did; their log says only what went wrong (not, say, that the index loaded).
        var logger = Logger(label: "teamgate")
        logger.logLevel = .warning
        return try await TeamGateServices.open(configuration, logger: logger, otpSender: OTPOutbox())
    }

    /// The organisation named by `--org`, or the only one there is.
    func organizationID(_ given: String?, in services: TeamGateServices) async throws -> String {
        if let given { return given }
        let organizations = try await services.directory.organizations()
        guard organizations.count == 1 else {
            throw BadInput(
                organizations.isEmpty ? "No organisation yet: run `teamgate org create` first." : "Several organisations: pass --org ID.")
        }
        return organizations[0].id
    }

    func printJSON(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}

func parsePhone(_ text: String) throws -> PhoneNumber {
    do {
        return try PhoneNumber(parsing: text)
    } catch {
        throw BadInput("\(text) is not a phone number with country code (7–15 digits, e.g. +919300000001)")
    }
}
