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
            BenchCommand.self,
        ]
    )
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
