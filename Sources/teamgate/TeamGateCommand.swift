import ArgumentParser
import Foundation
import TeamGate

@main
struct TeamGateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teamgate",
        abstract: "Controls who on a team is signed in: sessions, remote logout, API keys.",
        subcommands: [
            ServeCommand.self, OrgCommand.self, KeysCommand.self, MembersCommand.self, SettingsCommand.self, BackupCommand.self, RestoreCommand.self,
            BenchCommand.self, OIDCClientsCommand.self, OIDCKeysCommand.self, SCIMTokensCommand.self,
        ]
    )

    /// Runs the command; a refusal of TeamGate's (a rule, a value that is not what it must be) is printed as the
    /// sentence the API would answer, with exit status 2, as for a wrong setting.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let refusal as TeamGateError {
            FileHandle.standardError.write(Data("Error: \(refusal.explanation)\n".utf8))
            Foundation.exit(2)
        } catch let problem as BadInput {
            FileHandle.standardError.write(Data("Error: \(problem.message)\n".utf8))
            Foundation.exit(2)
        } catch {
            exit(withError: error)
        }
    }
}

/// Input a command refuses before asking TeamGate (an unknown role, a number that is none); exit status 2.
struct BadInput: Error {
    let message: String

    init(_ message: String) {
        self.message = message
    }
}

/// The configuration `read` gives, or its problems on standard error and exit code 2, as for any wrong setting.
func readConfiguration(_ read: () throws(ConfigurationError) -> TeamGateConfiguration) throws -> TeamGateConfiguration {
    do {
        return try read()
    } catch {
        FileHandle.standardError.write(Data((error.description + "\n").utf8))
        throw ExitCode(2)
    }
}
