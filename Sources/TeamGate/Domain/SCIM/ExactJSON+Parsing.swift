import Foundation

/// Why a text is not JSON, with where it went wrong.
public struct ExactJSONError: Error, Equatable, Sendable {
    public let offset: Int
    public let problem: String
}

extension ExactJSON {
    /// How deep arrays and objects may nest: a bound on what a request can make the parser recurse through.
    public static let maximumDepth = 32

    /// Parses one JSON value (RFC 8259) filling the whole text, surrounding whitespace aside.
    public init(parsing data: Data) throws(ExactJSONError) {
        var parser = ExactJSONParser(bytes: [UInt8](data))
        self = try parser.document()
    }

    public init(parsing text: String) throws(ExactJSONError) {
        try self.init(parsing: Data(text.utf8))
    }
}

private struct ExactJSONParser {
    let bytes: [UInt8]
    var position = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func document() throws(ExactJSONError) -> ExactJSON {
        let value = try self.value(depth: 0)
        skipWhitespace()
        guard position == bytes.count else { throw fail("unexpected text after the value") }
        return value
    }

    private func fail(_ problem: String) -> ExactJSONError { ExactJSONError(offset: position, problem: problem) }

    private mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    private mutating func value(depth: Int) throws(ExactJSONError) -> ExactJSON {
        guard depth <= ExactJSON.maximumDepth else { throw fail("nested too deeply") }
        skipWhitespace()
        guard position < bytes.count else { throw fail("a value was expected") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return .number(try number())
        }
    }

    private mutating func literal(_ word: String) throws(ExactJSONError) {
        let wanted = Array(word.utf8)
        guard position + wanted.count <= bytes.count, Array(bytes[position..<position + wanted.count]) == wanted else { throw fail("unknown word") }
        position += wanted.count
    }

    private mutating func object(depth: Int) throws(ExactJSONError) -> ExactJSON {
        position += 1
        var members: [(String, ExactJSON)] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw fail("a member name was expected") }
            let key = try string()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw fail("':' was expected") }
            position += 1
            members.append((key, try value(depth: depth + 1)))
            skipWhitespace()
            guard position < bytes.count else { throw fail("the object is not closed") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
            } else if bytes[position] == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            } else {
                throw fail("',' or '}' was expected")
            }
        }
    }

    private mutating func array(depth: Int) throws(ExactJSONError) -> ExactJSON {
        position += 1
        var items: [ExactJSON] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(items)
        }
        while true {
            items.append(try value(depth: depth + 1))
            skipWhitespace()
            guard position < bytes.count else { throw fail("the array is not closed") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
            } else if bytes[position] == UInt8(ascii: "]") {
                position += 1
                return .array(items)
            } else {
                throw fail("',' or ']' was expected")
            }
        }
    }

    private mutating func number() throws(ExactJSONError) -> String {
        let start = position
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
        let integerStart = position
        while position < bytes.count, (0x30...0x39).contains(bytes[position]) { position += 1 }
        guard position > integerStart else { throw fail("a value was expected") }
        guard bytes[integerStart] != 0x30 || position - integerStart == 1 else { throw fail("a number may not start with 0") }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            let fraction = position
            while position < bytes.count, (0x30...0x39).contains(bytes[position]) { position += 1 }
            guard position > fraction else { throw fail("digits were expected after '.'") }
        }
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            let exponent = position
            while position < bytes.count, (0x30...0x39).contains(bytes[position]) { position += 1 }
            guard position > exponent else { throw fail("digits were expected in the exponent") }
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    private mutating func string() throws(ExactJSONError) -> String {
        position += 1
        var scalars = String.UnicodeScalarView()
        var run = position
        func flush(_ end: Int, into scalars: inout String.UnicodeScalarView) {
            if end > run { scalars.append(contentsOf: String(decoding: bytes[run..<end], as: UTF8.self).unicodeScalars) }
        }
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                flush(position, into: &scalars)
                position += 1
                return String(scalars)
            }
            guard byte >= 0x20 else { throw fail("a control character in a string") }
            guard byte == UInt8(ascii: "\\") else {
                position += 1
                continue
            }
            flush(position, into: &scalars)
            position += 1
            guard position < bytes.count else { break }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"): scalars.append(try unicodeEscape())
            default: throw fail("an unknown escape in a string")
            }
            run = position
        }
        throw fail("the string is not closed")
    }

    private mutating func hexQuad() throws(ExactJSONError) -> UInt32 {
        guard position + 4 <= bytes.count, let value = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16) else {
            throw fail("four hex digits were expected after \\u")
        }
        position += 4
        return value
    }

    private mutating func unicodeEscape() throws(ExactJSONError) -> Unicode.Scalar {
        let first = try hexQuad()
        if (0xD800...0xDBFF).contains(first) {
            guard position + 2 <= bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                throw fail("a lone surrogate in a string")
            }
            position += 2
            let second = try hexQuad()
            guard (0xDC00...0xDFFF).contains(second), let scalar = Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)) else {
                throw fail("a lone surrogate in a string")
            }
            return scalar
        }
        guard let scalar = Unicode.Scalar(first) else { throw fail("a lone surrogate in a string") }
        return scalar
    }
}
