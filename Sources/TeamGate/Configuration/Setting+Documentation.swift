import Foundation

extension Setting {
    /// The settings as `teamgate serve --help` lists them: the flag, then the variable and the default, then the help.
    public static func helpText(for settings: [Setting] = TeamGateConfiguration.settings) -> String {
        var lines = ["SETTINGS:"]
        lines += wrapped(
            "Each setting is a flag or a TEAMGATE_* environment variable; a flag wins over the variable, which wins over "
                + "the default. A server with a missing or wrong setting does not start and lists every problem.", indent: 0)
        for setting in settings {
            let shownDefault =
                switch setting.defaultValue {
                case .value(let text): text
                case .note(let text): text
                }
            lines.append("")
            lines.append("  " + [setting.flag, setting.valueName].compactMap { $0 }.joined(separator: " "))
            lines += wrapped("\(setting.environmentVariable); default: \(shownDefault)", indent: 6)
            lines += wrapped(setting.help + ".", indent: 6)
        }
        // Backticks mark code in the README; a terminal shows them as they are.
        return lines.joined(separator: "\n").replacingOccurrences(of: "`", with: "")
    }

    /// The README's configuration table, exactly; a test compares the README with it.
    public static func markdownTable(for settings: [Setting] = TeamGateConfiguration.settings) -> String {
        let rows = settings.map { setting in
            let shownDefault =
                switch setting.defaultValue {
                case .value(let text): "`\(text)`"
                case .note(let text): text
                }
            let meaning = setting.range.map { "\(setting.help) (\($0))" } ?? setting.help
            let cells = ["`\(setting.flag)`", "`\(setting.environmentVariable)`", shownDefault, meaning]
            // A bare | would end the cell.
            return "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |"
        }
        return (["| flag | environment | default | meaning |", "|---|---|---|---|"] + rows).joined(separator: "\n")
    }

    /// `text` in lines of at most 78 characters, each indented by `indent` spaces: ArgumentParser would break
    /// longer ones at 80 columns and lose the indent.
    static func wrapped(_ text: String, indent: Int) -> [String] {
        let margin = String(repeating: " ", count: indent)
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty, margin.count + line.count + 1 + word.count > 78 {
                lines.append(margin + line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(margin + line) }
        return lines
    }
}
