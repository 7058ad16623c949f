import ArgumentParser
import Foundation
import Logging
import TeamGate

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Load-test helpers (scripts/bench drives them).", subcommands: [Seed.self])

    struct Seed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an organisation with N members signed in on 1–5 devices each, and write its key, numbers and tokens to files.")

        @Option(help: "SQLite file to create, or postgres://user@host:port/database (empty).") var database: String
        @Option(help: "How many members.") var members = 100_000
        @Option(help: "Folder for key.txt, numbers.txt, tokens.txt and devices.txt.") var out: String

        func run() async throws {
            var configuration = TeamGateConfiguration()
            configuration.database = database
            let services = try await TeamGateServices.open(configuration, logger: .init(label: "bench"), otpSender: OTPOutbox())
            let created = try await services.directory.createOrganization(
                name: try MemberName(parsing: "Bench Inbox"), ownerName: try MemberName(parsing: "Bench Owner"),
                ownerPhone: try PhoneNumber(parsing: "+919100000000"))
            let started = Date()
            let total = members
            let load = try await services.directory.seedBenchTeam(organizationID: created.organization.id, members: members) { done in
                let width = 40
                let filled = width * done / max(total, 1)
                let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total) members".utf8))
            }
            FileHandle.standardError.write(Data("\n".utf8))
            let folder = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try created.key.secret.write(to: folder.appendingPathComponent("key.txt"), atomically: true, encoding: .utf8)
            try (load.phones.joined(separator: "\n") + "\n").write(
                to: folder.appendingPathComponent("numbers.txt"), atomically: true, encoding: .utf8)
            try (load.tokens.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("tokens.txt"), atomically: true, encoding: .utf8)
            // "number token" per member (its first device), for the bench's WebSocket clients.
            try (zip(load.phones, load.firstTokens).map { "\($0) \($1)" }.joined(separator: "\n") + "\n").write(
                to: folder.appendingPathComponent("devices.txt"), atomically: true, encoding: .utf8)
            let seconds = Date().timeIntervalSince(started)
            print("seeded \(load.phones.count) members and \(load.tokens.count) sessions in \(String(format: "%.1f", seconds)) s")
        }
    }
}
