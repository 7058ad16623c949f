/// Settings on a command line: `--key value`, `--key=value`, and a bare `--demo` for an on/off setting. The flags
/// are the settings' own, so `serve` declares none by hand.
public enum SettingArguments {
    public struct Parsed: Sendable, Equatable {
        /// Text by setting key, as `TeamGateConfiguration.reader(flags:)` takes it.
        public var flags: [String: String] = [:]
        /// Unknown flags, missing values, repeats: each a sentence.
        public var problems: [String] = []
    }

    public static func parse(_ arguments: [String], settings: [Setting] = TeamGateConfiguration.settings) -> Parsed {
        let settingsByFlag = Dictionary(uniqueKeysWithValues: settings.map { ($0.flag, $0) })
        var parsed = Parsed()
        var unknown: [String] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--"), argument.count > 2 else {
                parsed.problems.append("unexpected argument \(argument): a setting is given as --key value or --key=value")
                continue
            }
            let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            guard let setting = settingsByFlag[name] else {
                unknown.append(name)
                // Its value, if it has one, is part of the same mistake.
                if parts.count == 1, index < arguments.endIndex, !arguments[index].hasPrefix("--") { index += 1 }
                continue
            }
            let text: String
            if parts.count == 2 {
                text = String(parts[1])
            } else if setting.kind == .bool {
                text = "true"
            } else if index < arguments.endIndex, !arguments[index].hasPrefix("--") {
                // A value may start with one dash (`-1`), so a wrong number reaches the setting's own check.
                text = arguments[index]
                index += 1
            } else {
                parsed.problems.append("\(name) needs a value: \(name) \(setting.valueName ?? "") or \(name)=\(setting.valueName ?? "")")
                continue
            }
            guard parsed.flags[setting.key] == nil else {
                parsed.problems.append("\(name) is given more than once")
                continue
            }
            parsed.flags[setting.key] = text
        }
        if !unknown.isEmpty {
            parsed.problems.append(
                "unknown flag\(unknown.count == 1 ? "" : "s") \(unknown.joined(separator: ", ")); the settings are "
                    + settings.map(\.flag).joined(separator: ", "))
        }
        return parsed
    }
}
