import Foundation

/// Setting up organisations, their keys and their members (the CLI's and the demo's use cases).
public struct TeamDirectory: Sendable {
    let store: any TeamGateStore
    let transactions: Transactions
    let clock: WallClock
    /// Told when a key is revoked here, so this instance refuses it from the next request on.
    let seenKeys: SeenAPIKeys

    /// Creates an organisation with its owner and a first API key, whose secret is returned once.
    public func createOrganization(
        name: String,
        ownerName: String,
        ownerPhone: PhoneNumber,
        origin: RequestOrigin = .cli
    ) async throws -> (organization: Organization, owner: TeamMember, key: IssuedAPIKey) {
        let name = try Self.validName(name, field: "name")
        let now = clock.now()
        let organization = Organization(id: SecretToken.identifier(prefix: "org_"), name: name, createdAt: now)
        let owner = TeamMember(
            id: SecretToken.identifier(prefix: "mem_"),
            organizationID: organization.id,
            name: try Self.validName(ownerName, field: "ownerName"),
            phone: ownerPhone,
            role: .owner,
            createdAt: now
        )
        let (newKey, issued) = Self.makeKey(organizationID: organization.id, name: "first key", at: now)
        try await transactions.run { work in
            try work.insertOrganization(organization)
            try work.insertMember(owner)
            try work.insertAPIKey(newKey)
            try work.appendAudit(.make(.organizationCreated, organizationID: organization.id, at: now, origin: origin))
            try work.appendAudit(.make(.memberAdded, organizationID: organization.id, at: now, origin: origin, member: owner))
            try work.appendAudit(.make(.apiKeyCreated, organizationID: organization.id, at: now, origin: origin, reason: newKey.key.prefix))
        }
        return (organization, owner, issued)
    }

    public func organizations() async throws -> [Organization] {
        try await store.organizations()
    }

    public func organization(id: String) async throws -> Organization {
        guard let organization = try await store.organization(id: id) else { throw TeamGateError.notFound("Organization \(id) not found") }
        return organization
    }

    public func createAPIKey(organizationID: String, name: String, origin: RequestOrigin = .cli) async throws -> IssuedAPIKey {
        _ = try await organization(id: organizationID)
        let now = clock.now()
        let (newKey, issued) = Self.makeKey(organizationID: organizationID, name: try Self.validName(name, field: "name"), at: now)
        try await transactions.run { work in
            try work.insertAPIKey(newKey)
            try work.appendAudit(.make(.apiKeyCreated, organizationID: organizationID, at: now, origin: origin, reason: newKey.key.prefix))
        }
        return issued
    }

    public func apiKeys(organizationID: String) async throws -> [APIKey] {
        try await store.apiKeys(organizationID: organizationID)
    }

    /// Revokes a key by id or prefix; requests made with it are refused from then on.
    public func revokeAPIKey(organizationID: String, idOrPrefix: String, origin: RequestOrigin = .cli) async throws -> APIKey {
        let now = clock.now()
        let revoked = try await transactions.run { work in
            guard var key = try work.apiKey(idOrPrefix: idOrPrefix, organizationID: organizationID) else {
                throw TeamGateError.notFound("API key \(idOrPrefix) not found")
            }
            guard !key.isRevoked else { return key }
            try work.revokeAPIKey(id: key.id, at: now)
            key.revokedAt = now
            try work.appendAudit(.make(.apiKeyRevoked, organizationID: organizationID, at: now, origin: origin, reason: key.prefix))
            return key
        }
        seenKeys.forget(keyID: revoked.id)
        return revoked
    }

    public func addMember(
        organizationID: String,
        name: String,
        phone: PhoneNumber,
        email: String? = nil,
        role: Role = .teamMemberAllChats,
        origin: RequestOrigin = .cli
    ) async throws -> TeamMember {
        _ = try await organization(id: organizationID)
        let member = TeamMember(
            id: SecretToken.identifier(prefix: "mem_"),
            organizationID: organizationID,
            name: try Self.validName(name, field: "name"),
            phone: phone,
            email: email,
            role: role,
            createdAt: clock.now()
        )
        try await transactions.run { work in
            try work.insertMember(member)
            try work.appendAudit(.make(.memberAdded, organizationID: organizationID, at: member.createdAt, origin: origin, member: member))
        }
        return member
    }

    public func members(organizationID: String) async throws -> [TeamMember] {
        try await store.members(organizationID: organizationID)
    }

    /// The largest team `GET /team` answers in one piece, as DoubleTick does; a larger one comes in pages.
    public static let unpagedTeamLimit = 10_000

    /// A page of the team: its members, the managers they name (on this page or not), and the cursor of
    /// the next page when there is one.
    public struct TeamPage: Sendable {
        public let members: [TeamMember]
        public let managers: [String: TeamMember]
        public let nextCursor: String?
    }

    public func teamPage(organizationID: String, after cursor: String?, limit: Int) async throws -> TeamPage {
        guard var members = try await store.members(organizationID: organizationID, afterMemberID: cursor, limit: limit + 1) else {
            throw TeamGateError.validation(["cursor must be a nextCursor from an earlier page"])
        }
        let more = members.count > limit
        if more { members.removeLast() }
        var managers = Dictionary(members.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let missing = Set(members.compactMap(\.reportingManagerID)).subtracting(managers.keys)
        for manager in try await store.members(organizationID: organizationID, ids: missing) { managers[manager.id] = manager }
        return TeamPage(members: members, managers: managers, nextCursor: more ? members.last?.id : nil)
    }

    public func auditEvents(organizationID: String, limit: Int = 100) async throws -> [AuditEvent] {
        try await store.auditEvents(organizationID: organizationID, limit: limit)
    }

    static func makeKey(organizationID: String, name: String, at date: Date) -> (NewAPIKey, IssuedAPIKey) {
        let secret = SecretToken.make(prefix: "key_")
        let key = APIKey(
            id: SecretToken.identifier(prefix: "kid_"),
            organizationID: organizationID,
            prefix: String(secret.prefix(12)),
            name: name,
            createdAt: date
        )
        return (NewAPIKey(key: key, secretHash: SecretToken.hash(secret)), IssuedAPIKey(key: key, secret: secret))
    }

    static func validName(_ text: String, field: String) throws -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.count <= 200, !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { throw TeamGateError.validation(["\(field) must be 1–200 printable characters"]) }
        return trimmed
    }
}
