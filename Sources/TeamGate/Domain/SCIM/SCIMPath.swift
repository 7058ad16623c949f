import Foundation

/// The SCIM schemas TeamGate speaks (RFC 7643).
public enum SCIMSchema {
    public static let user = "urn:ietf:params:scim:schemas:core:2.0:User"
    public static let group = "urn:ietf:params:scim:schemas:core:2.0:Group"
    public static let enterpriseUser = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    public static let listResponse = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    public static let patchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    public static let error = "urn:ietf:params:scim:api:messages:2.0:Error"
    public static let serviceProviderConfig = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
    public static let resourceType = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
    public static let schema = "urn:ietf:params:scim:schemas:core:2.0:Schema"
}

/// An attribute named in a filter, a PATCH path or `attributes=`: `userName`, `name.givenName`, or with its schema
/// (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`). Names are matched without regard to case.
public struct SCIMAttributePath: Sendable, Equatable {
    /// The extension the attribute belongs to; nil for the resource's core schema.
    public let schemaExtension: String?
    public let name: String
    public let subAttribute: String?

    public init(schemaExtension: String? = nil, name: String, subAttribute: String? = nil) {
        self.schemaExtension = schemaExtension
        self.name = name
        self.subAttribute = subAttribute
    }

    /// The extensions whose attributes a resource holds under the extension's URI.
    static let extensions = [SCIMSchema.enterpriseUser]

    /// Parses `[URI ":"] name ["." sub]`. The core schemas' URIs are dropped; any other URI names an extension, and an
    /// extension's URI alone names the object holding its attributes.
    public init?(parsing text: String) {
        if let schema = Self.extensions.first(where: { $0.caseInsensitiveCompare(text) == .orderedSame }) {
            self.init(name: schema)
            return
        }
        var rest = Substring(text)
        var schema: String?
        if text.lowercased().hasPrefix("urn:"), let colon = text.lastIndex(of: ":") {
            schema = String(text[..<colon])
            rest = text[text.index(after: colon)...]
            if [SCIMSchema.user, SCIMSchema.group].contains(where: { $0.caseInsensitiveCompare(schema ?? "") == .orderedSame }) { schema = nil }
        }
        let parts = rest.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, Self.isName(first), parts.count == 1 || Self.isName(parts[1]) else { return nil }
        self.init(schemaExtension: schema, name: String(first), subAttribute: parts.count == 2 ? String(parts[1]) : nil)
    }

    static func isName(_ text: Substring) -> Bool {
        guard let first = text.unicodeScalars.first, first.properties.isAlphabetic || first == "$" else { return false }
        return text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" || $0 == "$") }
    }

    /// The values the path reaches in `resource`: for a multi-valued attribute, each item's (sub-)value.
    public func values(in resource: ExactJSON) -> [ExactJSON] {
        let container = schemaExtension.map { resource.member(named: $0) ?? .null } ?? resource
        guard let value = container.member(named: name), !value.isNull else { return [] }
        let items = value.array ?? [value]
        guard let subAttribute else { return items }
        return items.compactMap { $0.member(named: subAttribute) }.filter { !$0.isNull }
    }

    /// Whether string comparisons on this attribute respect case (RFC 7643: `id` and `externalId` do, names do not).
    var isCaseExact: Bool {
        schemaExtension == nil && subAttribute == nil && ["id", "externalid"].contains(name.lowercased())
    }
}

/// A SCIM filter (RFC 7644 §3.4.2.2): comparisons, presence, `and`, `or`, `not`, brackets and value paths
/// (`emails[type eq "work"]`).
public indirect enum SCIMFilter: Sendable, Equatable {
    public enum Comparison: String, Sendable, CaseIterable {
        case eq, ne, co, sw, ew, gt, ge, lt, le
    }

    case compare(SCIMAttributePath, Comparison, ExactJSON)
    case present(SCIMAttributePath)
    case and(SCIMFilter, SCIMFilter)
    case or(SCIMFilter, SCIMFilter)
    case not(SCIMFilter)
    /// `attribute[filter]`: true when one item of the multi-valued attribute matches the inner filter.
    case valuePath(SCIMAttributePath, SCIMFilter)

    /// The longest filter text accepted, and the most clauses: bounds for what a request can make us evaluate.
    public static let maximumLength = 4_096
    public static let maximumClauses = 50

    /// Whether `resource` matches.
    public func matches(_ resource: ExactJSON) -> Bool {
        switch self {
        case .compare(let path, let comparison, let value):
            return path.values(in: resource).contains { Self.compare($0, comparison, value, caseExact: path.isCaseExact) }
        case .present(let path):
            return path.values(in: resource).contains { value in
                if case .string(let text) = value { return !text.isEmpty }
                if case .array(let items) = value { return !items.isEmpty }
                return true
            }
        case .and(let left, let right): return left.matches(resource) && right.matches(resource)
        case .or(let left, let right): return left.matches(resource) || right.matches(resource)
        case .not(let inner): return !inner.matches(resource)
        case .valuePath(let path, let inner):
            return SCIMAttributePath(schemaExtension: path.schemaExtension, name: path.name).values(in: resource).contains { inner.matches($0) }
        }
    }

    private static func compare(_ actual: ExactJSON, _ comparison: Comparison, _ wanted: ExactJSON, caseExact: Bool) -> Bool {
        // A complex value compares by its `value` sub-attribute (`emails eq "a@b"`).
        if case .object = actual, let value = actual.member(named: "value") { return compare(value, comparison, wanted, caseExact: caseExact) }
        switch (actual, wanted) {
        case (.string(let a), .string(let b)):
            let left = caseExact ? a : a.lowercased()
            let right = caseExact ? b : b.lowercased()
            switch comparison {
            case .eq: return left == right
            case .ne: return left != right
            case .co: return left.contains(right)
            case .sw: return left.hasPrefix(right)
            case .ew: return left.hasSuffix(right)
            case .gt: return left > right
            case .ge: return left >= right
            case .lt: return left < right
            case .le: return left <= right
            }
        case (.bool, _) where wanted.lenientBool != nil:
            let same = actual.lenientBool == wanted.lenientBool
            return comparison == .eq ? same : comparison == .ne ? !same : false
        case (.number(let a), .number(let b)):
            guard let left = Double(a), let right = Double(b) else { return false }
            switch comparison {
            case .eq: return left == right
            case .ne: return left != right
            case .gt: return left > right
            case .ge: return left >= right
            case .lt: return left < right
            case .le: return left <= right
            case .co, .sw, .ew: return false
            }
        default:
            return comparison == .ne
        }
    }

    /// An equality on one attribute a store can answer from an index, if the filter requires one: the filter
    /// itself, or a side of an `and`.
    public var indexedEquality: (attribute: String, value: String)? {
        switch self {
        case .compare(let path, .eq, .string(let value)) where path.schemaExtension == nil && path.subAttribute == nil:
            let name = path.name.lowercased()
            return ["username", "externalid", "id"].contains(name) ? (name, value) : nil
        case .and(let left, let right): return left.indexedEquality ?? right.indexedEquality
        default: return nil
        }
    }
}
