import Foundation

/// A name as people read it — a member's, an organisation's or an API key's: 1–200 characters once trimmed,
/// none of them a control character (a newline would forge lines in a log or a CSV export). Every door checks
/// names through this one type, and services take only checked names.
public struct MemberName: Sendable, Equatable, CustomStringConvertible {
    public let text: String

    public static let maximumLength = 200

    /// Checks `text`; `field` names the field in the refusal (`name must be …`).
    public init(parsing text: String, field: String = "name") throws(TeamGateError) {
        switch Self.parse(text, field: field) {
        case .success(let name): self = name
        case .failure(let problem): throw .validation([problem.message])
        }
    }

    /// What is wrong with a name, worded for the field it came in.
    public struct Problem: Error, Sendable {
        public let message: String
    }

    /// The name in `text`, or what is wrong with it, for a door that lists every problem of a request at once.
    public static func parse(_ text: String, field: String) -> Result<MemberName, Problem> {
        let trimmed = trimmed(text)
        if let problem = problem(withTrimmed: trimmed, field: field) { return .failure(Problem(message: problem)) }
        return .success(MemberName(checked: trimmed))
    }

    private init(checked: String) {
        self.text = checked
    }

    private static func trimmed(_ text: String) -> String {
        text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func problem(withTrimmed trimmed: String, field: String) -> String? {
        guard !trimmed.isEmpty, trimmed.count <= maximumLength,
            !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { return "\(field) must be 1–\(maximumLength) printable characters" }
        return nil
    }

    public var description: String { text }
}
