import Foundation

/// A JSON value kept exactly as a client sent it: keys in their order and spelling, numbers as their text.
/// SCIM clients (Entra ID among them) check that what they wrote comes back unchanged, which a round trip
/// through `Double` or a dictionary would not give.
public indirect enum ExactJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number's text as sent (`55555555555`, `1.50`).
    case number(String)
    case string(String)
    case array([ExactJSON])
    /// Members in the order sent; SCIM attribute names are matched without regard to case (`member(named:)`).
    case object([(String, ExactJSON)])

    public static func == (lhs: ExactJSON, rhs: ExactJSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    /// The member named `name`, in any case.
    public func member(named name: String) -> ExactJSON? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }

    public var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var array: [ExactJSON]? {
        if case .array(let items) = self { return items }
        return nil
    }

    public var objectMembers: [(String, ExactJSON)]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// A boolean, also as the strings `"True"`/`"False"` in any case: Entra ID sends `active` that way in PATCH.
    public var lenientBool: Bool? {
        switch self {
        case .bool(let value): value
        case .string(let text) where text.lowercased() == "true": true
        case .string(let text) where text.lowercased() == "false": false
        default: nil
        }
    }

    public var isNull: Bool { self == .null }

    /// The object with `name` (in any case) set to `value`, replacing the member in place or appending it.
    public func setting(_ name: String, to value: ExactJSON) -> ExactJSON {
        var members = objectMembers ?? []
        if let index = members.firstIndex(where: { $0.0.caseInsensitiveCompare(name) == .orderedSame }) {
            members[index].1 = value
        } else {
            members.append((name, value))
        }
        return .object(members)
    }

    /// The object without `name` (in any case).
    public func removing(_ name: String) -> ExactJSON {
        .object((objectMembers ?? []).filter { $0.0.caseInsensitiveCompare(name) != .orderedSame })
    }

    /// The value as compact JSON text.
    public var text: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .number(let text): out += text
        case .string(let text): out += JSONText.string(text)
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out += "," }
                out += JSONText.string(key)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }
}
