import Foundation

/// A member as the company's directory provisioned them: the directory's name for them and its attributes, kept
/// exactly as sent, next to the member TeamGate signs in.
public struct SCIMUser: Sendable, Equatable {
    public let memberID: String
    public let organizationID: String
    public var userName: String
    public var externalID: String?
    /// The user's attributes as sent, without those the server sets or never keeps (`id`, `meta`, `groups`,
    /// `active`, `password`).
    public var attributes: ExactJSON
    public let createdAt: Date
    public var updatedAt: Date

    public init(memberID: String, organizationID: String, userName: String, externalID: String?, attributes: ExactJSON, createdAt: Date, updatedAt: Date) {
        self.memberID = memberID
        self.organizationID = organizationID
        self.userName = userName
        self.externalID = externalID
        self.attributes = attributes
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// `userName` as the uniqueness rule compares it: without regard to case (RFC 7643 makes it case-insensitive).
    public static func key(of userName: String) -> String { userName.lowercased() }

    public var userNameKey: String { Self.key(of: userName) }
}

/// What a user document a directory sent says, checked: the attributes TeamGate keeps and the member they describe.
public struct SCIMUserDocument: Sendable {
    /// Top-level attributes of the core User schema that TeamGate keeps (and `/Schemas` publishes), by lowercased name.
    static let keptStrings: Set<String> = [
        "username", "externalid", "displayname", "nickname", "profileurl", "title", "usertype", "preferredlanguage", "locale", "timezone",
    ]
    static let keptMultiValued: Set<String> = ["emails", "phonenumbers", "addresses"]

    public let attributes: ExactJSON
    public let userName: String
    public let externalID: String?
    /// Nil when the document does not say (a PUT without `active` leaves it as it was).
    public let active: Bool?
    public let phone: PhoneNumber
    public let name: MemberName
    public let email: String?

    public static let maximumUserNameLength = 256

    public init(_ resource: ExactJSON) throws(SCIMFailure) {
        guard let members = resource.objectMembers else { throw SCIMFailure(.invalidSyntax, "A user is a JSON object.") }
        var kept: [(String, ExactJSON)] = []
        var active: Bool?
        for (key, value) in members {
            let lowered = key.lowercased()
            if lowered == "active" {
                guard value.isNull || value.lenientBool != nil else { throw SCIMFailure(.invalidValue, "active must be true or false.") }
                active = value.lenientBool
                continue
            }
            // An attribute without a value (`"addresses": null`) is one the user does not have.
            guard !value.isNull else { continue }
            if Self.keptStrings.contains(lowered) {
                guard value.string != nil else { throw SCIMFailure(.invalidValue, "\(key) must be a string.") }
            } else if Self.keptMultiValued.contains(lowered) {
                guard let items = value.array, items.allSatisfy({ $0.objectMembers != nil }) else {
                    throw SCIMFailure(.invalidValue, "\(key) must be a list of objects.")
                }
            } else if lowered == "name" || lowered == SCIMSchema.enterpriseUser.lowercased() {
                guard value.objectMembers != nil else { throw SCIMFailure(.invalidValue, "\(key) must be an object.") }
            } else {
                // `password`, `groups`, `roles`, `meta`, `id`, `schemas` and what no schema here names: not kept.
                continue
            }
            kept.append((key, value))
        }
        let attributes = ExactJSON.object(kept)
        guard let userName = attributes.member(named: "userName")?.string, !userName.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw SCIMFailure(.invalidValue, "userName is required.")
        }
        guard userName.count <= Self.maximumUserNameLength else {
            throw SCIMFailure(.invalidValue, "userName is longer than \(Self.maximumUserNameLength) characters.")
        }
        self.attributes = attributes
        self.userName = userName
        self.externalID = attributes.member(named: "externalId")?.string
        self.active = active
        self.phone = try Self.phone(in: attributes)
        self.name = try Self.name(in: attributes, userName: userName)
        self.email = Self.preferred(attributes.member(named: "emails")?.array ?? [], type: "work")?.member(named: "value")?.string
    }

    /// The item of `type`, else the primary one, else the first.
    static func preferred(_ items: [ExactJSON], type: String) -> ExactJSON? {
        items.first { $0.member(named: "type")?.string?.lowercased() == type }
            ?? items.first { $0.member(named: "primary")?.lenientBool == true } ?? items.first
    }

    /// The number the member signs in with: the `mobile` phone number, else the primary one, else the first.
    static func phone(in attributes: ExactJSON) throws(SCIMFailure) -> PhoneNumber {
        guard let item = preferred(attributes.member(named: "phoneNumbers")?.array ?? [], type: "mobile") else {
            throw SCIMFailure(
                .invalidValue,
                "TeamGate signs members in by phone: the user needs a phoneNumbers entry (type mobile) with a number in international form, such as +919312345678.")
        }
        guard let text = item.member(named: "value")?.string else { throw SCIMFailure(.invalidValue, "phoneNumbers.value is required.") }
        // RFC 3966's form (`tel:+1-201-555-0123`), which RFC 7643 suggests, spells the same number.
        let number = text.lowercased().hasPrefix("tel:") ? String(text.dropFirst(4)) : text
        guard let phone = PhoneNumber(validating: number) else {
            throw SCIMFailure(
                .invalidValue, "phoneNumbers: \"\(text.prefix(40))\" is not a phone number with its country code (7 to 15 digits, such as +919312345678).")
        }
        return phone
    }

    /// The member's name: `displayName`, else `name.formatted`, else given and family names, else `userName`.
    static func name(in attributes: ExactJSON, userName: String) throws(SCIMFailure) -> MemberName {
        let name = attributes.member(named: "name")
        let parts = [name?.member(named: "givenName")?.string, name?.member(named: "familyName")?.string].compactMap { $0 }.filter { !$0.isEmpty }
        let candidates: [String?] = [attributes.member(named: "displayName")?.string, name?.member(named: "formatted")?.string, parts.joined(separator: " "), userName]
        for candidate in candidates.compactMap({ $0 }) where !candidate.trimmingCharacters(in: .whitespaces).isEmpty {
            switch MemberName.parse(candidate, field: "displayName") {
            case .success(let checked): return checked
            case .failure(let problem): throw SCIMFailure(.invalidValue, problem.message)
            }
        }
        throw SCIMFailure(.invalidValue, "userName is required.")
    }
}

extension SCIMUser {
    /// The user as SCIM answers it: the attributes as sent, with the server's own (`id`, `active`, the role's group,
    /// `meta`) from the member as they are now, so an admin's change in the console shows here too.
    public func resource(member: TeamMember, baseURL: String) -> ExactJSON {
        var schemas: [ExactJSON] = [.string(SCIMSchema.user)]
        if attributes.member(named: SCIMSchema.enterpriseUser) != nil { schemas.append(.string(SCIMSchema.enterpriseUser)) }
        var members: [(String, ExactJSON)] = [("schemas", .array(schemas)), ("id", .string(memberID))]
        members += attributes.objectMembers ?? []
        members.append(("active", .bool(!member.isDeactivated)))
        members.append(("groups", .array([SCIMGroup(role: member.role).reference(baseURL: baseURL)])))
        members.append(
            (
                "meta",
                .object([
                    ("resourceType", .string("User")), ("created", .string(createdAt.iso8601Seconds)), ("lastModified", .string(updatedAt.iso8601Seconds)),
                    ("location", .string("\(baseURL)/Users/\(memberID)")),
                ])
            ))
        return .object(members)
    }
}

/// One of the four role groups: SCIM's Groups are the organisation's roles, fixed, by the role's id.
public struct SCIMGroup: Sendable, Equatable {
    public let role: Role

    public init(role: Role) {
        self.role = role
    }

    public init?(id: String) {
        guard let number = Int(id), let role = Role(rawValue: number) else { return nil }
        self.role = role
    }

    public var id: String { String(role.id) }

    /// The group as a user's `groups` lists it.
    func reference(baseURL: String) -> ExactJSON {
        .object([("value", .string(id)), ("$ref", .string("\(baseURL)/Groups/\(id)")), ("display", .string(role.name)), ("type", .string("direct"))])
    }

    /// The group with `members`, each a directory user holding the role.
    public func resource(members: [SCIMUser]?, baseURL: String) -> ExactJSON {
        var fields: [(String, ExactJSON)] = [("schemas", .array([.string(SCIMSchema.group)])), ("id", .string(id)), ("displayName", .string(role.name))]
        if let members {
            fields.append(
                (
                    "members",
                    .array(
                        members.map {
                            .object([("value", .string($0.memberID)), ("$ref", .string("\(baseURL)/Users/\($0.memberID)")), ("display", .string($0.userName))])
                        })
                ))
        }
        fields.append(("meta", .object([("resourceType", .string("Group")), ("location", .string("\(baseURL)/Groups/\(id)"))])))
        return .object(fields)
    }
}
