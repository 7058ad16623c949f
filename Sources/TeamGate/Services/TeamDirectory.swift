import Foundation

extension APIKey.Purpose {
    /// Who manages keys of this purpose (the Owner, in both cases), as `TeamRules` names it.
    var ownerSetting: OwnerSetting { self == .publicAPI ? .apiKeys : .provisioning }
    var createdAction: AuditAction { self == .publicAPI ? .apiKeyCreated : .provisioningTokenCreated }
    var revokedAction: AuditAction { self == .publicAPI ? .apiKeyRevoked : .provisioningTokenRevoked }
}

/// Setting up organisations, their keys and their members (the CLI's and the demo's use cases).
public struct TeamDirectory: Sendable {
    let store: any TeamGateStore
    let transactions: Transactions
    let clock: WallClock
    /// Told when a key is revoked here, so this instance refuses it from the next request on.
    let seenKeys: SeenAPIKeys

    /// Creates an organisation with its owner and a first API key, whose secret is returned once.
    public func createOrganization(
        name: MemberName,
        ownerName: MemberName,
        ownerPhone: PhoneNumber,
        origin: RequestOrigin = .cli
    ) async throws -> (organization: Organization, owner: TeamMember, key: IssuedAPIKey) {
        let now = clock.now()
        let organization = Organization(id: SecretToken.identifier(prefix: "org_"), name: name.text, createdAt: now)
        let owner = TeamMember(
            id: SecretToken.identifier(prefix: "mem_"),
            organizationID: organization.id,
            name: ownerName.text,
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
        guard let organization = try await store.organization(id: id) else { throw TeamGateError.organizationNotFound(id: id) }
        return organization
    }

    /// Makes a key of `purpose` (an API key, or a provisioning token for the directory); its secret is returned once.
    public func createAPIKey(
        organizationID: String, name: MemberName, purpose: APIKey.Purpose = .publicAPI, origin: RequestOrigin = .cli
    ) async throws -> IssuedAPIKey {
        try TeamRules.checkManages(purpose.ownerSetting, actor: origin.actor, organizationID: organizationID)
        _ = try await organization(id: organizationID)
        let now = clock.now()
        let (newKey, issued) = Self.makeKey(organizationID: organizationID, name: name.text, purpose: purpose, at: now)
        try await transactions.run { work in
            try work.insertAPIKey(newKey)
            try work.appendAudit(.make(purpose.createdAction, organizationID: organizationID, at: now, origin: origin, reason: newKey.key.prefix))
        }
        return issued
    }

    /// The organisation's keys of `purpose`, revoked ones included.
    public func apiKeys(organizationID: String, purpose: APIKey.Purpose = .publicAPI, origin: RequestOrigin = .cli) async throws -> [APIKey] {
        try TeamRules.checkManages(purpose.ownerSetting, actor: origin.actor, organizationID: organizationID)
        return try await store.apiKeys(organizationID: organizationID).filter { $0.purpose == purpose }
    }

    /// Revokes a key of `purpose` by id or prefix; requests made with it are refused from then on.
    public func revokeAPIKey(
        organizationID: String, idOrPrefix: String, purpose: APIKey.Purpose = .publicAPI, origin: RequestOrigin = .cli
    ) async throws -> APIKey {
        try TeamRules.checkManages(purpose.ownerSetting, actor: origin.actor, organizationID: organizationID)
        let now = clock.now()
        let revoked = try await transactions.run { work in
            guard var key = try work.apiKey(idOrPrefix: idOrPrefix, organizationID: organizationID), key.purpose == purpose else {
                throw purpose == .publicAPI ? TeamGateError.apiKeyNotFound(idOrPrefix: idOrPrefix) : .provisioningTokenNotFound(idOrPrefix: idOrPrefix)
            }
            guard !key.isRevoked else { return key }
            try work.revokeAPIKey(id: key.id, at: now)
            key.revokedAt = now
            try work.appendAudit(.make(purpose.revokedAction, organizationID: organizationID, at: now, origin: origin, reason: key.prefix))
            return key
        }
        seenKeys.forget(keyID: revoked.id)
        return revoked
    }

    /// Adds one member (the CLI's `members add`). Nobody is added as an Owner: an organisation has its one.
    public func addMember(
        organizationID: String,
        name: MemberName,
        phone: PhoneNumber,
        email: String? = nil,
        role: Role = .teamMemberAllChats,
        origin: RequestOrigin = .cli
    ) async throws -> TeamMember {
        try TeamRules.checkAssignable(role)
        _ = try await organization(id: organizationID)
        let member = TeamMember(
            id: SecretToken.identifier(prefix: "mem_"),
            organizationID: organizationID,
            name: name.text,
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
        try Self.checkCursor(cursor)
        guard var members = try await store.members(organizationID: organizationID, afterMemberID: cursor, limit: limit + 1) else {
            throw TeamGateError.invalidCursor
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

    static func makeKey(organizationID: String, name: String, purpose: APIKey.Purpose = .publicAPI, at date: Date) -> (NewAPIKey, IssuedAPIKey) {
        let secret = SecretToken.make(prefix: purpose.secretPrefix)
        let key = APIKey(
            id: SecretToken.identifier(prefix: "kid_"),
            organizationID: organizationID,
            prefix: String(secret.prefix(purpose.secretPrefix.count + 8)),
            name: name,
            createdAt: date,
            purpose: purpose
        )
        return (NewAPIKey(key: key, secretHash: SecretToken.hash(secret)), IssuedAPIKey(key: key, secret: secret))
    }

    /// Seeds a load test's team in bulk (`teamgate bench seed`): members signed in on 1–5 devices each.
    public func seedBenchTeam(
        organizationID: String, members: Int, phonePrefix: String = "9170", progress: @Sendable (Int) -> Void = { _ in }
    ) async throws -> SeededLoad {
        try await store.bulkSeed(organizationID: organizationID, members: members, phonePrefix: phonePrefix, at: clock.now(), progress: progress)
    }
}
