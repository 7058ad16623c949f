import Foundation

/// Why a filter or a path could not be read: answered as SCIM's `invalidFilter` or `invalidPath`.
public struct SCIMSyntaxError: Error, Equatable, Sendable {
    public let message: String
}

extension SCIMFilter {
    /// Parses a filter; `not` binds tighter than `and`, which binds tighter than `or`. Keywords and operators are
    /// read in any case (Entra and Okta both send lowercase; RFC 7644 allows any).
    public init(parsing text: String) throws(SCIMSyntaxError) {
        guard text.utf8.count <= Self.maximumLength else { throw SCIMSyntaxError(message: "The filter is longer than \(Self.maximumLength) bytes.") }
        var parser = SCIMFilterParser(tokens: try SCIMFilterParser.tokens(of: text))
        self = try parser.filter()
        guard parser.position == parser.tokens.count else { throw SCIMSyntaxError(message: "Unexpected text after the filter.") }
    }
}

/// A PATCH operation's `path` (RFC 7644 §3.5.2): an attribute, or `attribute[filter]` with an optional `.subAttribute`.
public struct SCIMPatchPath: Sendable, Equatable {
    public let attribute: SCIMAttributePath
    public let valueFilter: SCIMFilter?
    /// With a value filter: the sub-attribute of the matching items (`emails[type eq "work"].value`).
    public let filteredSubAttribute: String?

    public init(parsing text: String) throws(SCIMSyntaxError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let open = trimmed.firstIndex(of: "[") else {
            guard let attribute = SCIMAttributePath(parsing: trimmed) else { throw SCIMSyntaxError(message: "\"\(text)\" is not an attribute path.") }
            self.attribute = attribute
            self.valueFilter = nil
            self.filteredSubAttribute = nil
            return
        }
        guard let close = trimmed.lastIndex(of: "]"), close > open,
            let attribute = SCIMAttributePath(parsing: String(trimmed[..<open])), attribute.subAttribute == nil
        else { throw SCIMSyntaxError(message: "\"\(text)\" is not an attribute path.") }
        let after = trimmed[trimmed.index(after: close)...]
        var sub: String?
        if !after.isEmpty {
            guard after.hasPrefix("."), SCIMAttributePath.isName(after.dropFirst()) else { throw SCIMSyntaxError(message: "\"\(text)\" is not an attribute path.") }
            sub = String(after.dropFirst())
        }
        self.attribute = attribute
        self.valueFilter = try SCIMFilter(parsing: String(trimmed[trimmed.index(after: open)..<close]))
        self.filteredSubAttribute = sub
    }
}

private struct SCIMFilterParser {
    enum Token: Equatable {
        case open, close, openBracket, closeBracket
        case word(String)
        case string(String)
    }

    let tokens: [Token]
    var position = 0
    var clauses = 0

    init(tokens: [Token]) {
        self.tokens = tokens
    }

    static func tokens(of text: String) throws(SCIMSyntaxError) -> [Token] {
        var tokens: [Token] = []
        let scalars = Array(text.unicodeScalars)
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            switch scalar {
            case " ", "\t", "\n", "\r": index += 1
            case "(": tokens.append(.open); index += 1
            case ")": tokens.append(.close); index += 1
            case "[": tokens.append(.openBracket); index += 1
            case "]": tokens.append(.closeBracket); index += 1
            case "\"":
                // A JSON string, escapes and all: the value as JSON would read it.
                var end = index + 1
                var escaped = false
                while end < scalars.count, escaped || scalars[end] != "\"" {
                    escaped = !escaped && scalars[end] == "\\"
                    end += 1
                }
                guard end < scalars.count else { throw SCIMSyntaxError(message: "A string in the filter is not closed.") }
                var literal = String.UnicodeScalarView()
                literal.append(contentsOf: scalars[index...end])
                do {
                    guard let value = try ExactJSON(parsing: String(literal)).string else { throw SCIMSyntaxError(message: "Bad string.") }
                    tokens.append(.string(value))
                } catch {
                    throw SCIMSyntaxError(message: "A string in the filter is not valid JSON.")
                }
                index = end + 1
            default:
                var end = index
                while end < scalars.count, !" \t\n\r()[]\"".unicodeScalars.contains(scalars[end]) { end += 1 }
                var word = String.UnicodeScalarView()
                word.append(contentsOf: scalars[index..<end])
                tokens.append(.word(String(word)))
                index = end
            }
        }
        return tokens
    }

    private var next: Token? { position < tokens.count ? tokens[position] : nil }

    private func isKeyword(_ token: Token?, _ keyword: String) -> Bool {
        if case .word(let word) = token { return word.lowercased() == keyword }
        return false
    }

    mutating func filter() throws(SCIMSyntaxError) -> SCIMFilter {
        var left = try conjunction()
        while isKeyword(next, "or") {
            position += 1
            left = .or(left, try conjunction())
        }
        return left
    }

    private mutating func conjunction() throws(SCIMSyntaxError) -> SCIMFilter {
        var left = try unary()
        while isKeyword(next, "and") {
            position += 1
            left = .and(left, try unary())
        }
        return left
    }

    private mutating func unary() throws(SCIMSyntaxError) -> SCIMFilter {
        clauses += 1
        guard clauses <= SCIMFilter.maximumClauses else { throw SCIMSyntaxError(message: "The filter has more than \(SCIMFilter.maximumClauses) clauses.") }
        if isKeyword(next, "not") {
            position += 1
            guard next == .open else { throw SCIMSyntaxError(message: "\"not\" must be followed by a bracketed filter.") }
            return .not(try bracketed())
        }
        if next == .open { return try bracketed() }
        guard case .word(let word) = next, let path = SCIMAttributePath(parsing: word) else {
            throw SCIMSyntaxError(message: "An attribute name was expected in the filter.")
        }
        position += 1
        if next == .openBracket {
            position += 1
            let inner = try filter()
            guard next == .closeBracket else { throw SCIMSyntaxError(message: "A \"[\" in the filter is not closed.") }
            position += 1
            return .valuePath(path, inner)
        }
        guard case .word(let operatorWord) = next else { throw SCIMSyntaxError(message: "An operator was expected after \(word).") }
        position += 1
        if operatorWord.lowercased() == "pr" { return .present(path) }
        guard let comparison = SCIMFilter.Comparison(rawValue: operatorWord.lowercased()) else {
            throw SCIMSyntaxError(message: "\(operatorWord) is not a filter operator.")
        }
        return .compare(path, comparison, try comparedValue())
    }

    private mutating func bracketed() throws(SCIMSyntaxError) -> SCIMFilter {
        position += 1
        let inner = try filter()
        guard next == .close else { throw SCIMSyntaxError(message: "A \"(\" in the filter is not closed.") }
        position += 1
        return inner
    }

    private mutating func comparedValue() throws(SCIMSyntaxError) -> ExactJSON {
        defer { position += 1 }
        switch next {
        case .string(let text): return .string(text)
        case .word(let word):
            switch word.lowercased() {
            case "true": return .bool(true)
            case "false": return .bool(false)
            case "null": return .null
            default:
                let number: ExactJSON
                do {
                    number = try ExactJSON(parsing: word)
                } catch {
                    throw SCIMSyntaxError(message: "\(word) is not a value to compare with.")
                }
                guard case .number = number else { throw SCIMSyntaxError(message: "\(word) is not a value to compare with.") }
                return number
            }
        default: throw SCIMSyntaxError(message: "A value was expected in the filter.")
        }
    }
}
