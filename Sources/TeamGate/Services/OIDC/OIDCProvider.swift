import Foundation

/// TeamGate as an OpenID Connect provider: the apps an organisation registers sign its members in here, and hear
/// at once when a member's session ends (back-channel logout). An app's sign-in is a TeamGate session of its own
/// (kind `app`) under the browser's SSO session, so every end that reaches a member reaches their apps in the same
/// transaction, and the session index refuses the app's tokens from the commit on, on every instance.
public struct OIDCProvider: Sendable {
    public struct Policy: Sendable {
        public var codeLifetime: TimeInterval = 60
        public var accessTokenLifetime: TimeInterval = 3600
        public var idTokenLifetime: TimeInterval = 3600
        public var logoutTokenLifetime: TimeInterval = 120
        /// How long a retired signing key stays in the JWKS: longer than any token it signed lives.
        public var retiredKeyPublished: TimeInterval = 24 * 3600
        public var maximumURIs = 10

        public init() {}
    }

    /// A registered app, with its secret the one time it exists in the clear.
    public struct RegisteredApp: Sendable {
        public let client: OIDCClient
        public let secret: String?
    }

    /// The issuer (`--public-url`), without a trailing slash: the base of every absolute URL TeamGate writes.
    public let issuer: String
    let store: any TeamGateStore
    let transactions: Transactions
    let clock: WallClock
    let policy: Policy
    let targets: WebhookTargets
    let keys: OIDCSigningKeys
    let tokens: OIDCTokenCache
    let clients: OIDCClientCache
    let unknownTokens: UnknownCredentials

    init(
        issuer: String, store: any TeamGateStore, transactions: Transactions, clock: WallClock, policy: Policy, targets: WebhookTargets,
        unknownTokensPerMinute: Int
    ) {
        self.issuer = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
        self.store = store
        self.transactions = transactions
        self.clock = clock
        self.policy = policy
        self.targets = targets
        self.keys = OIDCSigningKeys(store: store, transactions: transactions, clock: clock, retiredKeyPublished: policy.retiredKeyPublished)
        self.tokens = OIDCTokenCache(issuer: issuer)
        self.clients = OIDCClientCache()
        self.unknownTokens = UnknownCredentials(perMinute: unknownTokensPerMinute)
    }

    /// Registers an app for the organisation (its Owner, its API key or the operator): the secret is returned once
    /// and only its hash is kept; a public app gets none (it proves each code with PKCE).
    public func register(_ request: OIDCClientRequest, organizationID: String, origin: RequestOrigin) async throws -> RegisteredApp {
        try TeamRules.checkManages(.apps, actor: origin.actor, organizationID: organizationID)
        var problems: [String] = []
        let name: String
        do {
            name = try MemberName(parsing: request.name).text
        } catch {
            name = ""
            if case .validation(let messages) = error { problems += messages }
        }
        if request.redirectURIs.isEmpty { problems.append("redirectUris must name at least one URI") }
        for (field, uris) in [("redirectUris", request.redirectURIs), ("postLogoutRedirectUris", request.postLogoutRedirectURIs)] {
            if uris.count > policy.maximumURIs { problems.append("\(field) may name at most \(policy.maximumURIs) URIs") }
            problems += uris.compactMap { Self.uriProblem($0, field: field) }
        }
        if let backchannel = request.backchannelLogoutURI {
            if let problem = Self.uriProblem(backchannel, field: "backchannelLogoutUri") {
                problems.append(problem)
            } else if let url = URL(string: backchannel), let problem = await targets.problem(with: url) {
                problems.append("backchannelLogoutUri: " + problem.replacingOccurrences(of: "url must", with: "must"))
            }
        }
        guard problems.isEmpty else { throw TeamGateError.validation(problems) }
        let now = clock.now()
        let secret = request.isPublic ? nil : SecretToken.make(prefix: "tgcs_")
        let client = OIDCClient(
            id: SecretToken.identifier(prefix: "app_"), organizationID: organizationID, name: name, secretHash: secret.map(SecretToken.hash),
            redirectURIs: request.redirectURIs, postLogoutRedirectURIs: request.postLogoutRedirectURIs,
            backchannelLogoutURI: request.backchannelLogoutURI, createdAt: now)
        try await transactions.run { work in
            try work.insertOIDCClient(client)
            try work.appendAudit(.make(.appRegistered, organizationID: organizationID, at: now, origin: origin, reason: name))
        }
        return RegisteredApp(client: client, secret: secret)
    }

    public func apps(organizationID: String, origin: RequestOrigin) async throws -> [OIDCClient] {
        try TeamRules.checkManages(.apps, actor: origin.actor, organizationID: organizationID)
        return try await store.oidcClients(organizationID: organizationID)
    }

    /// Removes the app; its members' sign-ins to it end with it (and it is told, if it listens for logouts).
    public func remove(appID: String, organizationID: String, origin: RequestOrigin) async throws {
        try TeamRules.checkManages(.apps, actor: origin.actor, organizationID: organizationID)
        let now = clock.now()
        try await transactions.decide { work -> Decision<Void> in
            guard let grants = try work.removeOIDCClient(id: appID, organizationID: organizationID, at: now) else { return .refused(.appNotFound) }
            let ends = grants.map { grant in
                SessionEnd(
                    selection: .session(id: grant, organizationID: organizationID), reason: .sessionRevoked, organizationID: organizationID,
                    member: nil, origin: origin, revocationID: nil, at: now, auditReason: "The app was removed")
            }
            _ = try SessionEnds.end(ends, in: work)
            try work.appendAudit(.make(.appRemoved, organizationID: organizationID, at: now, origin: origin, reason: appID))
            return .done(())
        }
        clients.forget(appID)
    }

    /// Why a URI cannot be registered, or nil: absolute http(s), no fragment, at most 2,000 characters.
    static func uriProblem(_ text: String, field: String) -> String? {
        let shown = text.count > 80 ? text.prefix(80) + "…" : Substring(text)
        guard text.count <= 2000, let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
            !(url.host ?? "").isEmpty
        else { return "\(field): \(shown) must be an absolute http or https URL" }
        guard !text.contains("#") else { return "\(field): \(shown) must not have a fragment" }
        return nil
    }

    /// The app by id, from a cache a second old at most (every token, introspection and revocation call names it);
    /// a read of the database counts against the address's allowance for unknown credentials.
    func client(id: String, clientAddress: String?) async throws -> OIDCClient? {
        if let cached = clients.client(id, at: clock.ticks()) { return cached }
        try unknownTokens.admitLookup(from: clientAddress, at: clock.ticks())
        let client = try await store.oidcClient(id: id)
        if let client { clients.remember(client, at: clock.ticks()) }
        return client
    }

    /// The app the credentials prove; `invalid_client` otherwise. Unknown ids count against the address's allowance.
    func authenticate(_ credentials: ClientCredentials, clientAddress: String?) async throws -> OIDCClient {
        let id: String
        switch credentials {
        case .secret(let clientID, _), .publicClient(let clientID): id = clientID
        }
        guard let client = try await client(id: id, clientAddress: clientAddress) else {
            unknownTokens.recordUnknown(from: clientAddress, at: clock.ticks())
            throw OAuthError.invalidClient
        }
        switch credentials {
        case .secret(_, let secret):
            guard let expected = client.secretHash, SecretToken.hash(secret) == expected else {
                unknownTokens.recordUnknown(from: clientAddress, at: clock.ticks())
                throw OAuthError.invalidClient
            }
        case .publicClient:
            guard client.isPublic else { throw OAuthError.invalidClient }
        }
        return client
    }
}
