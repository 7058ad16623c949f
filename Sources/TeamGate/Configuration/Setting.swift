import Foundation

/// One row of the settings table (`TeamGateConfiguration.settings`): a key, the kind of value it takes, its help,
/// and how its text is checked and stored in `TeamGateConfiguration`. The flag and the environment variable are
/// spelled from the key, and the default is the property's own initial value, read through its key path, so
/// nothing about a setting is written twice.
public struct Setting: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case int, double, bool, string
        /// Text kept out of logs and problem messages.
        case secret
    }

    /// How the default reads in the help and the README.
    public enum Default: Sendable, Equatable {
        /// A value that could be given as it is (`8080`).
        case value(String)
        /// Words for a setting that has no value unless given (`none`).
        case note(String)
    }

    /// What a value must be, worded to follow the key: "must be a whole number of at least 1".
    struct Requirement: Error, Equatable {
        let phrase: String

        init(_ phrase: String) {
            self.phrase = phrase
        }
    }

    /// The name after `teamgate.` in the reader: `sessionLifetimeHours`.
    public let key: String
    public let kind: Kind
    public let help: String
    public let defaultValue: Default
    /// The values a number may take (`1 to 600`), for the help and the README; nil for other kinds.
    public internal(set) var range: String?
    /// Stores the value that `text` reads as, or throws what it must be.
    let store: @Sendable (_ text: String, _ configuration: inout TeamGateConfiguration) throws(Requirement) -> Void
    /// Runs when no flag and no variable gives a value: throws for a setting that is required.
    let whenUnset: @Sendable (_ configuration: inout TeamGateConfiguration) throws(Requirement) -> Void

    /// `--session-lifetime-hours`.
    public var flag: String { "--" + Self.words(of: key).joined(separator: "-") }

    /// `TEAMGATE_SESSION_LIFETIME_HOURS`: the name swift-configuration's environment provider looks up for the key.
    public var environmentVariable: String { (["TEAMGATE"] + Self.words(of: key)).joined(separator: "_").uppercased() }

    /// `<integer>` after the flag in the help; nothing for an on/off flag.
    public var valueName: String? {
        switch kind {
        case .int: "<integer>"
        case .double: "<number>"
        case .bool: nil
        case .string, .secret: "<value>"
        }
    }

    /// The sentence that names a wrong or missing value, the flag and the variable. A secret's text is never repeated.
    func problem(_ requirement: Requirement, given text: String?) -> String {
        let given = text.map { kind == .secret ? "" : ", not \($0)" } ?? ""
        return "\(key) \(requirement.phrase)\(given) (\(flag) / \(environmentVariable))"
    }

    /// The key's camel-case words, lowercased: `sessionLifetimeHours` → session, lifetime, hours.
    static func words(of key: String) -> [String] {
        var words: [String] = []
        var current = ""
        var previous: Character?
        for character in key {
            if character.isUppercase, let previous, previous.isLowercase || previous.isNumber {
                words.append(current)
                current = ""
            }
            current.append(character)
            previous = character
        }
        words.append(current)
        return words.map { $0.lowercased() }
    }
}

extension Setting {
    /// Where a setting's value lives in the configuration.
    typealias Property<Value> = any WritableKeyPath<TeamGateConfiguration, Value> & Sendable

    /// A setting stored at `property` once `parse` accepts its text; `shown` words the property's initial value.
    init<Value: Sendable>(
        _ key: String, _ kind: Kind, _ property: Property<Value>, help: String,
        shown: (Value) -> Default,
        whenUnset: @escaping @Sendable (inout TeamGateConfiguration) throws(Requirement) -> Void = { _ in },
        parse: @escaping @Sendable (String) throws(Requirement) -> Value
    ) {
        self.key = key
        self.kind = kind
        self.help = help
        self.defaultValue = shown(TeamGateConfiguration()[keyPath: property])
        self.store = { text, configuration throws(Requirement) in configuration[keyPath: property] = try parse(text) }
        self.whenUnset = whenUnset
    }

    /// A whole number within `range`.
    static func int(
        _ key: String, _ property: Property<Int>, _ range: ClosedRange<Int>, help: String
    ) -> Setting {
        let phrase =
            range.upperBound == .max ? "must be a whole number of at least \(range.lowerBound)"
            : "must be a whole number from \(range.lowerBound) to \(range.upperBound)"
        var setting = Setting(key, .int, property, help: help, shown: { .value(String($0)) }) { text throws(Requirement) in
            guard let value = Int(text), range.contains(value) else { throw Requirement(phrase) }
            return value
        }
        setting.range = range.upperBound == .max ? "at least \(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)"
        return setting
    }

    /// A number of at least `minimum` (above it when `minimumAllowed` is false) and at most `maximum`.
    static func double(
        _ key: String, _ property: Property<Double>, minimum: Double, minimumAllowed: Bool, maximum: Double,
        help: String
    ) -> Setting {
        let phrase = (minimumAllowed ? "must be a number from \(decimal(minimum))" : "must be a number above \(decimal(minimum))")
            + (minimumAllowed ? " to \(decimal(maximum))" : " and at most \(decimal(maximum))")
        var setting = Setting(key, .double, property, help: help, shown: { .value(decimal($0)) }) { text throws(Requirement) in
            guard let value = Double(text), value.isFinite, minimumAllowed ? value >= minimum : value > minimum, value <= maximum else {
                throw Requirement(phrase)
            }
            return value
        }
        setting.range = (minimumAllowed ? "\(decimal(minimum))" : "above \(decimal(minimum))") + " to \(decimal(maximum))"
        return setting
    }

    /// `2` rather than `2.0`, with no grouping whatever the locale.
    static func decimal(_ number: Double) -> String {
        number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
    }

    /// On or off: the bare flag turns it on; a variable says true or false.
    static func bool(_ key: String, _ property: Property<Bool>, help: String) -> Setting {
        Setting(key, .bool, property, help: help, shown: { .note($0 ? "on" : "off") }) { text throws(Requirement) in
            switch text.lowercased() {
            case "true", "yes", "on", "1": return true
            case "false", "no", "off", "0": return false
            default: throw Requirement("must be true or false")
            }
        }
    }

    /// One of a fixed set of words, each naming a case of `Value`.
    static func choice<Value: CaseIterable & Sendable>(
        _ key: String, _ property: Property<Value>, named name: @escaping @Sendable (Value) -> String,
        help: String
    ) -> Setting {
        let phrase = "must be one of " + Value.allCases.map(name).joined(separator: ", ")
        return Setting(key, .string, property, help: help, shown: { .value(name($0)) }) { text throws(Requirement) in
            guard let value = Value.allCases.first(where: { name($0) == text.lowercased() }) else { throw Requirement(phrase) }
            return value
        }
    }

    /// A comma-separated list, blanks dropped; `parse` reads the entries.
    static func list<Value: Sendable>(
        _ key: String, _ property: Property<Value>, unset: String, help: String,
        parse: @escaping @Sendable ([String]) throws(Requirement) -> Value
    ) -> Setting {
        Setting(key, .string, property, help: help, shown: { _ in .note(unset) }) { text throws(Requirement) in
            try parse(text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
    }
}
