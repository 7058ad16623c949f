import ArgumentParser
import TeamGate

/// Prints the settings table: as `serve --help` lists it, or as the README's Markdown table.
struct SettingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "settings", abstract: "List every setting, its flag, variable and default.")

    @Flag(help: "Print the README's Markdown table.") var markdown = false

    func run() {
        print(markdown ? Setting.markdownTable() : Setting.helpText())
    }
}
