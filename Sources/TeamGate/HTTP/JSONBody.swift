import Foundation
import Hummingbird
import NIOCore

/// Any JSON value, so a request body can be checked field by field and every problem named.
enum JSONValue: Decodable, Sendable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}

/// A request body that must be one JSON object, read with a size limit.
struct JSONObjectBody: Sendable {
    let fields: [String: JSONValue]

    /// Reads and parses the body: 413 past `limit`, 415 unless it is declared JSON, 400 for anything that is
    /// not a JSON object.
    static func read(_ request: Request, limit: Int) async throws -> JSONObjectBody {
        let data = try await readBytes(request, limit: limit)
        // Only a JSON type: any web page can make its visitors' browsers send `text/plain`, a form type or no
        // type at all to another site without asking it first (no CORS preflight), never `application/json`.
        guard let contentType = request.headers[.contentType] ?? (data.isEmpty ? "application/json" : nil), isJSON(contentType) else {
            throw APIError(.unsupportedMediaType, "Content-Type must be application/json")
        }
        return try parse(data)
    }

    /// The raw body, with the same size limit; 415 for a type that is neither JSON nor the console's form.
    static func readBytes(_ request: Request, limit: Int) async throws -> Data {
        if let contentType = request.headers[.contentType], !isForm(contentType), !isJSON(contentType) {
            throw APIError(.unsupportedMediaType, "Content-Type must be application/json")
        }
        let started = ContinuousClock.now
        var buffer: ByteBuffer?
        for try await chunk in request.body {
            guard (buffer?.readableBytes ?? 0) + chunk.readableBytes <= limit else {
                throw APIError(.contentTooLarge, "Request body is larger than \(limit) bytes")
            }
            if buffer == nil {
                buffer = chunk
            } else {
                buffer?.writeImmutableBuffer(chunk)
            }
            // Checked as each part arrives, with no timer: a client trickling its body is answered 408 at its
            // first part past the deadline, and one that stops sending is closed by the idle timer (which
            // every byte restarts, so alone it would let a trickle hold a request for ever). A timer task per
            // body cost every form post a tenth of its time (measured with perf on introspection).
            if ContinuousClock.now - started > bodyTimeout {
                throw APIError(.requestTimeout, "The request body did not arrive in time")
            }
        }
        return buffer.map { Data($0.readableBytesView) } ?? Data()
    }

    /// The raw body, with the same checks, left in `request` for the handler to read again.
    static func collectBytes(_ request: inout Request, limit: Int) async throws -> Data {
        let data = try await readBytes(request, limit: limit)
        request.body = .init(buffer: ByteBuffer(bytes: data))
        return data
    }

    /// How long a client may take to send a body: a slow trickle must not hold a request open for ever.
    static let bodyTimeout: Duration = .seconds(10)

    static func parse(_ data: Data) throws -> JSONObjectBody {
        guard !data.isEmpty else { throw APIError.badRequest(["Request body must be a JSON object"]) }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw APIError.badRequest(["Request body is not valid JSON"])
        }
        guard case .object(let fields) = value else { throw APIError.badRequest(["Request body must be a JSON object"]) }
        return JSONObjectBody(fields: fields)
    }

    /// `application/json` and `application/…+json`.
    static func isJSON(_ contentType: String) -> Bool {
        // The spelling nearly every client sends needs no parsing (every logout pays for this).
        if contentType == "application/json" { return true }
        let mediaType = mediaType(contentType)
        return mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json"))
    }

    /// What the console's forms post.
    static func isForm(_ contentType: String) -> Bool {
        contentType == "application/x-www-form-urlencoded" || mediaType(contentType) == "application/x-www-form-urlencoded"
    }

    private static func mediaType(_ contentType: String) -> String {
        contentType.split(separator: ";").first?.trimmedOfWhitespace.lowercased() ?? ""
    }

    /// A required string field; its problems are appended to `problems`.
    func requiredString(_ name: String, problems: inout [String]) -> String? {
        switch fields[name] {
        case .none, .null:
            problems.append("\(name) should not be empty")
            return nil
        case .string(let value):
            if value.isEmpty { problems.append("\(name) should not be empty") }
            return value
        default:
            problems.append("\(name) must be a string")
            return nil
        }
    }

    /// A required name, checked as every door checks names (`MemberName`).
    func requiredName(_ name: String, problems: inout [String]) -> MemberName? {
        let before = problems.count
        guard let text = requiredString(name, problems: &problems), problems.count == before else { return nil }
        switch MemberName.parse(text, field: name) {
        case .success(let checked): return checked
        case .failure(let problem):
            problems.append(problem.message)
            return nil
        }
    }

    /// An optional string field; nil when absent or null.
    func optionalString(_ name: String, problems: inout [String]) -> String? {
        switch fields[name] {
        case .none, .null: return nil
        case .string(let value): return value
        default:
            problems.append("\(name) must be a string")
            return nil
        }
    }

    /// An optional whole number, for a field whose range is a rule of the services.
    func optionalWholeNumber(_ name: String, problems: inout [String]) -> Int? {
        switch fields[name] {
        case .none, .null: return nil
        // Within ±2⁵³: exactly a whole number as JSON's doubles hold it, and far from `Int`'s limits.
        case .number(let value) where value.rounded() == value && abs(value) <= 9_007_199_254_740_992: return Int(value)
        default:
            problems.append("\(name) must be a whole number")
            return nil
        }
    }

    /// An optional whole number within `range`.
    func optionalInt(_ name: String, in range: ClosedRange<Int>, problems: inout [String]) -> Int? {
        switch fields[name] {
        case .none, .null: return nil
        case .number(let value) where value.rounded() == value && Double(range.lowerBound) <= value && value <= Double(range.upperBound):
            return Int(value)
        default:
            problems.append("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
    }

    /// An optional boolean; nil when absent or null.
    func optionalBool(_ name: String, problems: inout [String]) -> Bool? {
        switch fields[name] {
        case .none, .null: return nil
        case .bool(let value): return value
        default:
            problems.append("\(name) must be a boolean value")
            return nil
        }
    }

    /// An optional text of at most `maxLength` characters.
    func optionalText(_ name: String, maxLength: Int, problems: inout [String]) -> String? {
        guard let text = optionalString(name, problems: &problems) else { return nil }
        guard text.count <= maxLength else {
            problems.append("\(name) must be at most \(maxLength) characters")
            return nil
        }
        return text
    }

    /// A required phone number field, with the message DoubleTick's validator gives.
    func requiredPhone(_ name: String, problems: inout [String]) -> PhoneNumber? {
        let before = problems.count
        let text = requiredString(name, problems: &problems)
        guard let text, problems.count == before, let phone = PhoneNumber(validating: text) else {
            problems.append("\(name) must be a valid phone number with country code")
            return nil
        }
        return phone
    }
}
