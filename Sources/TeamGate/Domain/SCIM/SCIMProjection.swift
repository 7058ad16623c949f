import Foundation

/// Which attributes an answer carries (`attributes=` or `excludedAttributes=`, RFC 7644 §3.9). `schemas` and `id`
/// are always returned.
public struct SCIMProjection: Sendable {
    let attributes: [SCIMAttributePath]
    let excluded: [SCIMAttributePath]

    public static let everything = SCIMProjection(attributes: [], excluded: [])

    /// Reads the two comma-separated lists; a name that is no attribute path is refused.
    public init(attributes: String?, excludedAttributes: String?) throws(SCIMFailure) {
        self.attributes = try Self.paths(attributes)
        self.excluded = try Self.paths(excludedAttributes)
    }

    private init(attributes: [SCIMAttributePath], excluded: [SCIMAttributePath]) {
        self.attributes = attributes
        self.excluded = excluded
    }

    private static func paths(_ list: String?) throws(SCIMFailure) -> [SCIMAttributePath] {
        guard let list, !list.isEmpty else { return [] }
        var paths: [SCIMAttributePath] = []
        for name in list.split(separator: ",") {
            guard let path = SCIMAttributePath(parsing: name.trimmingCharacters(in: .whitespaces)) else {
                throw SCIMFailure(.invalidValue, "\"\(name.prefix(60))\" is not an attribute name.")
            }
            paths.append(path)
        }
        return paths
    }

    /// Whether the answer would carry `name` (a top-level attribute of the core schema): to skip reading what it would not.
    public func includes(_ name: String) -> Bool {
        if excluded.contains(where: { $0.schemaExtension == nil && $0.subAttribute == nil && $0.name.lowercased() == name.lowercased() }) { return false }
        return attributes.isEmpty || attributes.contains { $0.schemaExtension == nil && $0.name.lowercased() == name.lowercased() }
    }

    static let alwaysReturned: Set<String> = ["schemas", "id"]

    public func apply(to resource: ExactJSON) -> ExactJSON {
        guard var members = resource.objectMembers else { return resource }
        if !attributes.isEmpty {
            members = members.compactMap { key, value in
                let lowered = key.lowercased()
                if Self.alwaysReturned.contains(lowered) { return (key, value) }
                let wanted = attributes.filter {
                    $0.schemaExtension?.lowercased() == lowered || ($0.schemaExtension == nil && $0.name.lowercased() == lowered)
                }
                guard !wanted.isEmpty else { return nil }
                // The whole attribute when named alone; otherwise only the sub-attributes (or extension attributes) named.
                if wanted.contains(where: { $0.schemaExtension == nil && $0.subAttribute == nil }) { return (key, value) }
                let names = wanted.map { $0.schemaExtension == nil ? $0.subAttribute ?? "" : $0.name }
                return (key, Self.keeping(names, in: value))
            }
        }
        for path in excluded where !(path.schemaExtension == nil && Self.alwaysReturned.contains(path.name.lowercased())) {
            members = members.compactMap { key, value in
                if let schema = path.schemaExtension {
                    guard key.caseInsensitiveCompare(schema) == .orderedSame else { return (key, value) }
                    return (key, value.removing(path.name))
                }
                guard key.caseInsensitiveCompare(path.name) == .orderedSame else { return (key, value) }
                guard let sub = path.subAttribute else { return nil }
                return (key, Self.removing(sub, in: value))
            }
        }
        return .object(members)
    }

    private static func keeping(_ names: [String], in value: ExactJSON) -> ExactJSON {
        if let items = value.array { return .array(items.map { keeping(names, in: $0) }) }
        let kept = (value.objectMembers ?? []).filter { key, _ in names.contains { $0.caseInsensitiveCompare(key) == .orderedSame } }
        return .object(kept)
    }

    private static func removing(_ name: String, in value: ExactJSON) -> ExactJSON {
        if let items = value.array { return .array(items.map { removing(name, in: $0) }) }
        return value.removing(name)
    }
}
