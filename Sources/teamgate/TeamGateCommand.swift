import ArgumentParser

@main
struct TeamGateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teamgate",
        abstract: "Controls who on a team is signed in: sessions, remote logout, API keys.",
        subcommands: [ServeCommand.self, OrgCommand.self, KeysCommand.self, MembersCommand.self, BenchCommand.self]
    )
}
