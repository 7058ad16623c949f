import Foundation

/// A SCIM PATCH request (RFC 7644 §3.5.2), as Entra ID, Okta and the RFC send it: `op` in any case (`Replace`),
/// a `path` or none (then the value is an object of attributes, keys possibly dotted, `name.givenName`).
public struct SCIMPatch: Sendable {
    public enum Operation: String, Sendable {
        case add, replace, remove
    }

    public struct Step: Sendable {
        public let operation: Operation
        public let path: SCIMPatchPath?
        public let value: ExactJSON?
    }

    public let steps: [Step]

    /// The most operations one request may carry.
    public static let maximumOperations = 100

    public init(body: ExactJSON) throws(SCIMFailure) {
        guard case .object = body, let operations = body.member(named: "Operations")?.array else {
            throw SCIMFailure(.invalidSyntax, "A PATCH body is an object with an \"Operations\" list.")
        }
        guard operations.count <= Self.maximumOperations else {
            throw SCIMFailure(.tooMany, "A PATCH request carries at most \(Self.maximumOperations) operations.")
        }
        var steps: [Step] = []
        for (index, operation) in operations.enumerated() {
            guard let name = operation.member(named: "op")?.string, let kind = Operation(rawValue: name.lowercased()) else {
                throw SCIMFailure(.invalidSyntax, "Operations[\(index)].op must be \"add\", \"replace\" or \"remove\".")
            }
            var path: SCIMPatchPath?
            if let text = operation.member(named: "path"), !text.isNull {
                guard let string = text.string else { throw SCIMFailure(.invalidPath, "Operations[\(index)].path must be a string.") }
                do {
                    path = try SCIMPatchPath(parsing: string)
                } catch {
                    throw SCIMFailure.syntax(error, as: .invalidPath)
                }
            }
            let value = operation.member(named: "value")
            if kind == .remove, path == nil { throw SCIMFailure(.noTarget, "Operations[\(index)]: a remove needs a path.") }
            if kind != .remove, path == nil, value?.objectMembers == nil {
                throw SCIMFailure(.invalidValue, "Operations[\(index)]: without a path, the value must be an object of attributes.")
            }
            if kind != .remove, value == nil { throw SCIMFailure(.invalidValue, "Operations[\(index)] needs a value.") }
            steps.append(Step(operation: kind, path: path, value: value))
        }
        self.steps = steps
    }

    /// Attributes a client may not write: the server sets them.
    static let readOnly: Set<String> = ["id", "meta", "groups", "schemas"]

    /// The resource with every step applied in order.
    public func applied(to resource: ExactJSON) throws(SCIMFailure) -> ExactJSON {
        var document = resource
        for step in steps {
            if let path = step.path {
                guard !Self.readOnly.contains(path.attribute.name.lowercased()) || path.attribute.schemaExtension != nil else {
                    throw SCIMFailure(.mutability, "\(path.attribute.name) is read-only.")
                }
                document = try Self.apply(step.operation, at: path, value: step.value, to: document)
            } else {
                for (key, value) in step.value?.objectMembers ?? [] where !Self.readOnly.contains(key.lowercased()) {
                    document = try Self.applyPathless(step.operation, key: key, value: value, to: document)
                }
            }
        }
        return document
    }

    /// One key of a pathless add or replace: an extension's object merged attribute by attribute, a dotted or
    /// schema-qualified key as the path it spells, a plain key as an attribute.
    private static func applyPathless(_ operation: Operation, key: String, value: ExactJSON, to document: ExactJSON) throws(SCIMFailure) -> ExactJSON {
        if key.lowercased().hasPrefix("urn:"), key.caseInsensitiveCompare(SCIMSchema.enterpriseUser) == .orderedSame, let members = value.objectMembers {
            var document = document
            for (name, item) in members {
                document = try apply(operation, at: try path(key + ":" + name), value: item, to: document)
            }
            return document
        }
        return try apply(operation, at: try path(key), value: value, to: document)
    }

    private static func path(_ text: String) throws(SCIMFailure) -> SCIMPatchPath {
        do {
            return try SCIMPatchPath(parsing: text)
        } catch {
            throw SCIMFailure.syntax(error, as: .invalidPath)
        }
    }

    private static func apply(_ operation: Operation, at path: SCIMPatchPath, value: ExactJSON?, to document: ExactJSON) throws(SCIMFailure) -> ExactJSON {
        let attribute = path.attribute
        let container = attribute.schemaExtension.map { document.member(named: $0) ?? .object([]) } ?? document
        let current = container.member(named: attribute.name)
        let changed: ExactJSON?
        if let filter = path.valueFilter {
            changed = try applyFiltered(operation, items: current?.array ?? [], filter: filter, subAttribute: path.filteredSubAttribute, value: value)
        } else if let sub = attribute.subAttribute {
            changed = applySub(operation, sub: sub, to: current, value: value)
        } else {
            switch operation {
            case .remove:
                // Unassigning `active` would leave a member neither signed out nor allowed in: a directory says which.
                guard attribute.name.lowercased() != "active" || attribute.schemaExtension != nil else {
                    throw SCIMFailure(.mutability, "active cannot be removed: replace it with true or false.")
                }
                changed = nil
            case .replace:
                changed = merged(value, into: current)
            case .add:
                // Adding to a multi-valued attribute appends what is not there yet; to a single-valued one, it sets.
                if let items = current?.array {
                    let added = value?.array ?? value.map { [$0] } ?? []
                    changed = .array(items + added.filter { !items.contains($0) })
                } else {
                    changed = merged(value, into: current)
                }
            }
        }
        let updated = changed.map { container.setting(attribute.name, to: $0) } ?? container.removing(attribute.name)
        guard let schema = attribute.schemaExtension else { return updated }
        return document.setting(schema, to: updated)
    }

    /// A complex (single-valued) attribute takes the sub-attributes given and keeps the others (RFC 7644 §3.5.2.1 and
    /// .3); any other value replaces what was there.
    private static func merged(_ value: ExactJSON?, into current: ExactJSON?) -> ExactJSON? {
        guard let fields = value?.objectMembers, var merged = current, merged.objectMembers != nil else { return value }
        for (name, field) in fields { merged = merged.setting(name, to: field) }
        return merged
    }

    private static func applySub(_ operation: Operation, sub: String, to current: ExactJSON?, value: ExactJSON?) -> ExactJSON? {
        func set(_ item: ExactJSON) -> ExactJSON {
            operation == .remove ? item.removing(sub) : item.setting(sub, to: value ?? .null)
        }
        if let items = current?.array { return .array(items.map(set)) }
        return set(current?.objectMembers == nil ? .object([]) : current ?? .object([]))
    }

    private static func applyFiltered(
        _ operation: Operation, items: [ExactJSON], filter: SCIMFilter, subAttribute: String?, value: ExactJSON?
    ) throws(SCIMFailure) -> ExactJSON? {
        let matching = Set(items.indices.filter { filter.matches(items[$0]) })
        if operation == .remove {
            guard let subAttribute else {
                let kept = items.indices.filter { !matching.contains($0) }.map { items[$0] }
                return kept.isEmpty ? nil : .array(kept)
            }
            return .array(items.indices.map { matching.contains($0) ? items[$0].removing(subAttribute) : items[$0] })
        }
        guard let value else { return .array(items) }
        if matching.isEmpty {
            // Entra ID adds a work email as `"op":"Add","path":"emails[type eq \"work\"].value"`: with no such item yet, an add
            // makes one. A replace needs a target (RFC 7644 §3.5.2.3).
            guard operation == .add, case .compare(let key, .eq, let wanted) = filter, key.subAttribute == nil else {
                throw SCIMFailure(.noTarget, "No value matches the path's filter.")
            }
            var item = ExactJSON.object([(key.name, wanted)])
            if let subAttribute {
                item = item.setting(subAttribute, to: value)
            } else {
                for (name, field) in value.objectMembers ?? [] { item = item.setting(name, to: field) }
            }
            return .array(items + [item])
        }
        return .array(
            items.indices.map { index in
                guard matching.contains(index) else { return items[index] }
                if let subAttribute { return items[index].setting(subAttribute, to: value) }
                guard let fields = value.objectMembers else { return value }
                var item = items[index]
                for (name, field) in fields { item = item.setting(name, to: field) }
                return item
            })
    }
}
