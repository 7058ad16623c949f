import Foundation

/// What the SCIM service says of itself (RFC 7643 §5–7): its features, its two resource types, and the schemas of
/// exactly the attributes TeamGate keeps, so a generic client writes nothing that would be dropped.
public enum SCIMDiscovery {
    public static func serviceProviderConfig(baseURL: String) -> ExactJSON {
        .object([
            ("schemas", .array([.string(SCIMSchema.serviceProviderConfig)])),
            ("documentationUri", .string(baseURL.replacingOccurrences(of: "/scim/v2", with: "/docs"))),
            ("patch", .object([("supported", .bool(true))])),
            ("bulk", .object([("supported", .bool(false)), ("maxOperations", .number("0")), ("maxPayloadSize", .number("0"))])),
            ("filter", .object([("supported", .bool(true)), ("maxResults", .number(String(Provisioning.maximumPageSize)))])),
            ("changePassword", .object([("supported", .bool(false))])),
            ("sort", .object([("supported", .bool(false))])),
            ("etag", .object([("supported", .bool(false))])),
            (
                "authenticationSchemes",
                .array([
                    .object([
                        ("type", .string("oauthbearertoken")), ("name", .string("Provisioning token")),
                        ("description", .string("A token from the console's Settings → Provisioning, sent as Authorization: Bearer <token>.")),
                        ("primary", .bool(true)),
                    ])
                ])
            ),
            ("meta", meta("ServiceProviderConfig", location: "\(baseURL)/ServiceProviderConfig")),
        ])
    }

    public static func resourceTypes(baseURL: String) -> [ExactJSON] {
        [
            .object([
                ("schemas", .array([.string(SCIMSchema.resourceType)])), ("id", .string("User")), ("name", .string("User")),
                ("endpoint", .string("/Users")), ("description", .string("A member of the team, signing in with their mobile number.")),
                ("schema", .string(SCIMSchema.user)),
                ("schemaExtensions", .array([.object([("schema", .string(SCIMSchema.enterpriseUser)), ("required", .bool(false))])])),
                ("meta", meta("ResourceType", location: "\(baseURL)/ResourceTypes/User")),
            ]),
            .object([
                ("schemas", .array([.string(SCIMSchema.resourceType)])), ("id", .string("Group")), ("name", .string("Group")),
                ("endpoint", .string("/Groups")), ("description", .string("One of the team's four roles; its members hold the role.")),
                ("schema", .string(SCIMSchema.group)), ("schemaExtensions", .array([])),
                ("meta", meta("ResourceType", location: "\(baseURL)/ResourceTypes/Group")),
            ]),
        ]
    }

    public static func schemas(baseURL: String) -> [ExactJSON] {
        [
            schema(SCIMSchema.user, name: "User", description: "A team member", attributes: userAttributes, baseURL: baseURL),
            schema(SCIMSchema.enterpriseUser, name: "EnterpriseUser", description: "Enterprise user", attributes: enterpriseAttributes, baseURL: baseURL),
            schema(SCIMSchema.group, name: "Group", description: "A role of the team", attributes: groupAttributes, baseURL: baseURL),
        ]
    }

    static func meta(_ resourceType: String, location: String) -> ExactJSON {
        .object([("resourceType", .string(resourceType)), ("location", .string(location))])
    }

    private static func schema(_ id: String, name: String, description: String, attributes: [ExactJSON], baseURL: String) -> ExactJSON {
        .object([
            ("schemas", .array([.string(SCIMSchema.schema)])), ("id", .string(id)), ("name", .string(name)), ("description", .string(description)),
            ("attributes", .array(attributes)), ("meta", meta("Schema", location: "\(baseURL)/Schemas/\(id)")),
        ])
    }

    /// One attribute's definition (RFC 7643 §7).
    private static func attribute(
        _ name: String, _ type: String = "string", multiValued: Bool = false, required: Bool = false, caseExact: Bool = false,
        mutability: String = "readWrite", uniqueness: String = "none", canonicalValues: [String] = [], referenceTypes: [String] = [],
        subAttributes: [ExactJSON] = []
    ) -> ExactJSON {
        var fields: [(String, ExactJSON)] = [
            ("name", .string(name)), ("type", .string(type)), ("multiValued", .bool(multiValued)), ("description", .string(name)),
            ("required", .bool(required)),
        ]
        if type == "string" || type == "reference" { fields.append(("caseExact", .bool(caseExact))) }
        if !canonicalValues.isEmpty { fields.append(("canonicalValues", .array(canonicalValues.map { .string($0) }))) }
        if !referenceTypes.isEmpty { fields.append(("referenceTypes", .array(referenceTypes.map { .string($0) }))) }
        fields += [("mutability", .string(mutability)), ("returned", .string("default")), ("uniqueness", .string(uniqueness))]
        if !subAttributes.isEmpty { fields.append(("subAttributes", .array(subAttributes))) }
        return .object(fields)
    }

    private static func plural(_ name: String, types: [String], valueRequired: Bool = false, required: Bool = false) -> ExactJSON {
        attribute(
            name, "complex", multiValued: true, required: required,
            subAttributes: [
                attribute("value", required: valueRequired), attribute("display"), attribute("type", canonicalValues: types), attribute("primary", "boolean"),
            ])
    }

    static let userAttributes: [ExactJSON] = [
        attribute("userName", required: true, uniqueness: "server"),
        attribute(
            "name", "complex",
            subAttributes: ["formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"].map { attribute($0) }),
        attribute("displayName"), attribute("nickName"), attribute("profileUrl", "reference", referenceTypes: ["external"]), attribute("title"),
        attribute("userType"), attribute("preferredLanguage"), attribute("locale"), attribute("timezone"),
        // Required: every member is active or deactivated, so `active` can be set but never unassigned.
        attribute("active", "boolean", required: true),
        plural("emails", types: ["work", "home", "other"]),
        // The member's sign-in number: the `mobile` one, else the primary, else the first.
        plural("phoneNumbers", types: ["mobile", "work", "home", "other"], valueRequired: true, required: true),
        attribute(
            "addresses", "complex", multiValued: true,
            subAttributes: ["formatted", "streetAddress", "locality", "region", "postalCode", "country"].map { attribute($0) } + [
                attribute("type", canonicalValues: ["work", "home", "other"]), attribute("primary", "boolean"),
            ]),
        attribute(
            "groups", "complex", multiValued: true, mutability: "readOnly",
            subAttributes: [
                attribute("value", mutability: "readOnly"), attribute("$ref", "reference", mutability: "readOnly", referenceTypes: ["Group"]),
                attribute("display", mutability: "readOnly"), attribute("type", mutability: "readOnly", canonicalValues: ["direct"]),
            ]),
    ]

    static let enterpriseAttributes: [ExactJSON] = [
        attribute("employeeNumber"), attribute("costCenter"), attribute("organization"), attribute("division"), attribute("department"),
        attribute(
            "manager", "complex",
            subAttributes: [attribute("value"), attribute("$ref", "reference", referenceTypes: ["User"]), attribute("displayName", mutability: "readOnly")]),
    ]

    static let groupAttributes: [ExactJSON] = [
        attribute("displayName", required: true, mutability: "readOnly", uniqueness: "server"),
        attribute(
            "members", "complex", multiValued: true,
            subAttributes: [
                attribute("value", mutability: "immutable"), attribute("$ref", "reference", mutability: "immutable", referenceTypes: ["User"]),
                attribute("display", mutability: "readOnly"), attribute("type", mutability: "immutable", canonicalValues: ["User"]),
            ]),
    ]
}
