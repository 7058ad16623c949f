import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TeamGate

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the HTTP server.", discussion: Setting.helpText())

    // The flags are the settings table's, read by the library, so none is declared here.
    @Argument(parsing: .captureForPassthrough, help: "Settings, as --key value or --key=value (listed above).")
    var settings: [String] = []

    func run() async throws {
        // ArgumentParser answers --help itself only before the first setting; after one, it arrives here.
        if settings.contains("--help") || settings.contains("-h") { throw CleanExit.helpRequest(self) }
        let configuration = try readConfiguration { () throws(ConfigurationError) in try TeamGateConfiguration(arguments: settings) }
        LoggingSystem.bootstrap { label in TeamGateLogHandler(label: label, format: configuration.logFormat) }
        // Whatever the log still holds when the server stops is written before the process ends.
        defer { LogOutput.standardError.flush() }
        if configuration.metrics { TeamGateMetrics.bootstrapSwiftMetrics() }
        let observability: [any Service] = configuration.traces == .otlp ? [try TeamGateTracing.bootstrapOTLP()] : []
        var logger = Logger(label: "teamgate")
        logger.logLevel = configuration.logLevel
        limitMallocArenas(logger: logger)
        // Held while serving, so `teamgate restore` refuses to replace the file under this server.
        let servingLock: ServingLock?
        if case .sqlite(let path) = configuration.databaseLocation {
            do {
                servingLock = try ServingLock(databasePath: path)
            } catch {
                logger.critical("\(error)")
                throw ExitCode(1)
            }
        } else {
            servingLock = nil
        }
        defer { servingLock?.release() }
        let services = try await TeamGateServices.open(configuration, logger: logger)
        let summary = configuration.demo ? try await Demo.prepare(services) : nil
        let serviceGroup = try buildServiceGroup(configuration: configuration, services: services, logger: logger, observability: observability) { port in
            let base = "http://\(configuration.host):\(port)"
            if let summary {
                DemoBanner.print(summary, baseURL: base)
            } else {
                FileHandle.standardOutput.write(Data("TeamGate listening on \(base)\n".utf8))
            }
        }
        // The store is in the group: on SIGTERM or SIGINT it closes last, once the server and the other
        // services have stopped and its writer has committed everything it was given.
        do {
            try await serviceGroup.run()
        } catch let failure as StoreFailure where failure.isFatal {
            // Logged by the watch; EX_IOERR, for the supervisor to restart the server on a recovered database.
            throw ExitCode(74)
        }
    }
}

/// glibc gives threads that allocate at once arenas of their own, up to eight per core, and memory freed
/// in one is not reused by the others: under the dispatch threads of the database and the event loops,
/// the server's RSS grew by tens of megabytes more than it used (measured with scripts/bench at a million
/// members). Two arenas keep it near what it holds, at no cost the bench could see. `MALLOC_ARENA_MAX`, when
/// set, is left to decide.
private func limitMallocArenas(logger: Logger) {
    #if os(Linux)
    guard ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil else { return }
    let arenaMaximum: Int32 = -8  // M_ARENA_MAX in <malloc.h>
    if setMallocOption(arenaMaximum, 2) == 0 { logger.warning("Could not limit glibc's malloc arenas; memory may grow more under load") }
    #endif
}

#if os(Linux)
/// glibc's `mallopt`, which its Swift module does not export.
@_silgen_name("mallopt")
private func setMallocOption(_ parameter: Int32, _ value: Int32) -> Int32
#endif

/// What `serve --demo` prints: the key, the members and their devices, and the seed's cURL, ready to paste.
enum DemoBanner {
    static func print(_ summary: Demo.Summary, baseURL: String) {
        var lines = [
            "",
            "TeamGate demo is running on \(baseURL)",
            "",
            "Organisation: \(summary.organization.name) (\(summary.organization.id))",
            "API key (Settings → Developer Documentation; shown once, do not share it publicly):",
            "  \(summary.key.secret)",
            "",
            "API reference with Try It: \(baseURL)/docs/reference/logout-team-member",
            "",
            "Team members, signed in:",
        ]
        for entry in summary.members {
            let member = entry.member
            lines.append("  \(member.phone)  \(member.name) — \(member.role.name), \(entry.liveSessions) live session(s)")
            for (device, token) in entry.newTokens {
                lines.append("      \(device): token \(token)")
            }
        }
        let target = summary.members.last?.member.phone.e164 ?? "+919300000004"
        let token = summary.members.last?.newTokens.first?.token
        lines += [
            "",
            "Log a member out (the seed's call):",
            "  curl -i -X POST \(baseURL)/team-member/logout \\",
            "    -H 'x-public-key: \(summary.key.secret)' \\",
            "    -H 'content-type: application/json' \\",
            "    -d '{\"userPhoneNumber\": \"\(target)\"}'",
        ]
        if let token {
            lines += [
                "",
                "Check one of their devices before and after (200, then 401):",
                "  curl -i \(baseURL)/me -H 'Authorization: Bearer \(token)'",
            ]
        }
        lines += [
            "",
            "The member's side: open \(baseURL)/app beside the API reference and sign in as \(target);",
            "the demo prints each sign-in code in this log. Try It on the reference page with that number,",
            "and the member's page says they were logged out, at once.",
        ]
        lines.append("")
        // Written straight to the descriptor: print() buffers when stdout is a pipe, and this must show at once.
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }
}
