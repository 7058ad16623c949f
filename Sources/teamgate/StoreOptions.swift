import ArgumentParser
import Foundation
import Logging
import TeamGate

/// Options every setup command shares: which database, and whether to print JSON for scripts.
struct StoreOptions: ParsableArguments {
    @Option(help: "SQLite file, or postgres://user@host:port/database (TEAMGATE_DATABASE).")
    var database: String?

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func openServices() async throws -> TeamGateServices {
        var configuration = TeamGateConfiguration()
        configuration.database = database ?? ProcessInfo.processInfo.environment["TEAMGATE_DATABASE"] ?? configuration.database
        return try await TeamGateServices.open(configuration, logger: Logger(label: "teamgate"), otpSender: OTPOutbox())
    }

    /// The organisation named by `--org`, or the only one there is.
    func organizationID(_ given: String?, in services: TeamGateServices) async throws -> String {
        if let given { return given }
        let organizations = try await services.directory.organizations()
        guard organizations.count == 1 else {
            throw ValidationError(
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
        throw ValidationError("\(text) is not a phone number with country code (7–15 digits, e.g. +919300000001)")
    }
}
