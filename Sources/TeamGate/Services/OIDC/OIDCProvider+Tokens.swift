import Foundation

/// What the token endpoint answers (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3).
public struct TokenResponse: Encodable, Sendable, Equatable {
    public let accessToken: String
    public let tokenType = "Bearer"
    public let expiresIn: Int
    public let idToken: String
    public let refreshToken: String?
    public let scope: String

    enum CodingKeys: String, CodingKey {
        case accessToken = "access_token", tokenType = "token_type", expiresIn = "expires_in", idToken = "id_token"
        case refreshToken = "refresh_token", scope
    }
}

extension OIDCProvider {
    private struct Grant: Sendable {
        let member: TeamMember
        let scope: String
        let nonce: String?
        let ssoSessionID: String
        let authTime: Date
        let access: OIDCToken
        let refresh: OIDCToken?
    }

    /// What one unit of work decided: tokens, or an OAuth refusal it still commits (a reused code revokes a grant).
    private enum Exchange: Sendable {
        case issued(Grant)
        case refused(OAuthError)
    }

    /// The authorization code grant. The code is single-use: a second use is refused and ends the app session the
    /// first use opened, so its tokens stop working (RFC 6749 §4.1.2). PKCE is checked whenever the code carries a
    /// challenge, whatever the app.
    public func exchange(code: String, redirectURI: String?, codeVerifier: String?, credentials: ClientCredentials, clientAddress: String?)
        async throws -> TokenResponse
    {
        let client = try await authenticate(credentials, clientAddress: clientAddress)
        let now = clock.now()
        let codeHash = SecretToken.hash(code)
        let grantSessionID = SecretToken.identifier(prefix: "ses_")
        let grantTokenHash = SecretToken.hash(SecretToken.make(prefix: "tgg_"))
        let accessToken = SecretToken.make(prefix: "tga_")
        let refreshToken = SecretToken.make(prefix: "tgr_")
        let accessLifetime = policy.accessTokenLifetime
        let outcome = try await transactions.run { work -> Exchange in
            guard let stored = try work.oidcCode(hash: codeHash), stored.clientID == client.id else {
                return .refused(.invalidGrant("The code is unknown or was issued to another app."))
            }
            if stored.usedAt != nil {
                if let grant = stored.grantSessionID {
                    _ = try SessionEnds.end(
                        SessionEnd(
                            selection: .session(id: grant, organizationID: client.organizationID), reason: .sessionRevoked,
                            organizationID: client.organizationID, member: nil, origin: RequestOrigin(actor: .app(clientID: client.id)),
                            revocationID: nil, at: now, auditReason: "The app's sign-in code was used twice"),
                        in: work)
                }
                return .refused(.invalidGrant("The code was already used; the tokens it gave are revoked."))
            }
            // From here on the code is spent, whatever the outcome: a wrong verifier cannot be retried.
            try work.markOIDCCodeUsed(hash: codeHash, grantSessionID: nil, at: now)
            guard stored.expiresAt > now else { return .refused(.invalidGrant("The code expired.")) }
            guard redirectURI == stored.redirectURI else { return .refused(.invalidGrant("redirect_uri is not the one the code was issued for.")) }
            if let challenge = stored.codeChallenge {
                guard let codeVerifier, Self.s256(codeVerifier) == challenge else { return .refused(.invalidGrant("code_verifier does not match.")) }
            }
            guard let (sso, _) = try work.session(id: stored.ssoSessionID, organizationID: client.organizationID), sso.isLive(at: now),
                let (member, organizationName) = try work.activeMember(id: stored.memberID), !member.isLocked(at: now)
            else { return .refused(.invalidGrant("The member's TeamGate session ended.")) }
            let session = Session(
                id: grantSessionID, memberID: member.id, organizationID: member.organizationID, deviceName: "App: \(client.name)",
                createdAt: now, expiresAt: sso.expiresAt)
            let live = LiveSession(sessionID: session.id, expiresAt: sso.expiresAt, member: member, organizationName: organizationName)
            try work.insertAppSession(
                session, tokenHash: grantTokenHash, live: live, parentID: sso.id, clientID: client.id, scope: stored.scope, authTime: stored.authTime)
            let make = { (token: String, kind: OIDCToken.Kind, expiresAt: Date) in
                OIDCToken(
                    tokenHash: SecretToken.hash(token), kind: kind, grantSessionID: session.id, grantTokenHash: grantTokenHash, ssoSessionID: sso.id,
                    clientID: client.id, memberID: member.id, scope: stored.scope, authTime: stored.authTime, issuedAt: now, expiresAt: expiresAt)
            }
            let access = make(accessToken, .access, min(now.addingTimeInterval(accessLifetime), sso.expiresAt))
            let refresh = OIDCScope.granted(from: stored.scope).contains(.offlineAccess) ? make(refreshToken, .refresh, sso.expiresAt) : nil
            try work.insertOIDCToken(access)
            if let refresh { try work.insertOIDCToken(refresh) }
            try work.markOIDCCodeUsed(hash: codeHash, grantSessionID: session.id, at: now)
            try work.appendAudit(
                .make(.memberSignedIn, organizationID: member.organizationID, at: now, origin: RequestOrigin(actor: .member(member)), member: member,
                    reason: "App: \(client.name)"))
            return .issued(
                Grant(member: member, scope: stored.scope, nonce: stored.nonce, ssoSessionID: sso.id, authTime: stored.authTime, access: access, refresh: refresh))
        }
        switch outcome {
        case .refused(let error): throw error
        case .issued(let grant):
            tokens.remember(grant.access)
            return try await response(grant, client: client, accessToken: accessToken, refreshToken: grant.refresh == nil ? nil : refreshToken, at: now)
        }
    }

    /// The refresh token grant: a new access token (and ID token) while the app session lives; the refresh token stays.
    public func refresh(refreshToken: String, credentials: ClientCredentials, clientAddress: String?) async throws -> TokenResponse {
        let client = try await authenticate(credentials, clientAddress: clientAddress)
        let now = clock.now()
        guard let record = try await tokenRecord(refreshToken, clientAddress: clientAddress), record.kind == .refresh, record.clientID == client.id,
            let live = try await liveGrant(of: record, clientAddress: clientAddress)
        else { throw OAuthError.invalidGrant("The refresh token is unknown, expired or its session ended.") }
        let accessToken = SecretToken.make(prefix: "tga_")
        let access = OIDCToken(
            tokenHash: SecretToken.hash(accessToken), kind: .access, grantSessionID: record.grantSessionID, grantTokenHash: record.grantTokenHash,
            ssoSessionID: record.ssoSessionID, clientID: client.id, memberID: record.memberID, scope: record.scope, authTime: record.authTime,
            issuedAt: now, expiresAt: min(now.addingTimeInterval(policy.accessTokenLifetime), live.expiresAt))
        // Written only while the app session is still live in the same transaction: an end committed first wins.
        let written = try await transactions.run { work -> Bool in
            guard let (grant, _) = try work.session(id: record.grantSessionID, organizationID: client.organizationID), grant.isLive(at: now) else {
                return false
            }
            try work.insertOIDCToken(access)
            return true
        }
        guard written else { throw OAuthError.invalidGrant("The refresh token's session ended.") }
        tokens.remember(access)
        let grant = Grant(
            member: live.member, scope: record.scope, nonce: nil, ssoSessionID: record.ssoSessionID, authTime: record.authTime, access: access,
            refresh: nil)
        return try await response(grant, client: client, accessToken: accessToken, refreshToken: refreshToken, at: now)
    }

    private func response(_ grant: Grant, client: OIDCClient, accessToken: String, refreshToken: String?, at now: Date) async throws -> TokenResponse {
        let idToken = try await self.idToken(
            member: grant.member, client: client, sid: grant.ssoSessionID, authTime: grant.authTime, nonce: grant.nonce,
            scopes: OIDCScope.granted(from: grant.scope), at: now)
        return TokenResponse(
            accessToken: accessToken, expiresIn: max(0, Int(grant.access.expiresAt.timeIntervalSince(now))), idToken: idToken,
            refreshToken: refreshToken, scope: grant.scope)
    }

    /// The ID token (OpenID Connect Core §2), RS256 with the current key's `kid`.
    func idToken(member: TeamMember, client: OIDCClient, sid: String, authTime: Date, nonce: String?, scopes: [OIDCScope], at now: Date)
        async throws -> String
    {
        var claims: [String: JSONClaim] = [
            "iss": .string(issuer), "sub": .string(member.id), "aud": .string(client.id), "iat": .int(Int64(now.timeIntervalSince1970)),
            "exp": .int(Int64(now.addingTimeInterval(policy.idTokenLifetime).timeIntervalSince1970)),
            "auth_time": .int(Int64(authTime.timeIntervalSince1970)), "sid": .string(sid),
        ]
        if let nonce { claims["nonce"] = .string(nonce) }
        claims.merge(Self.claims(of: member, scopes: scopes)) { _, scoped in scoped }
        return try JSONWebSignature.sign(claims: claims, type: "JWT", key: try await keys.signing())
    }

    /// The member's claims the scopes allow: `name` for `profile`, the verified number for `phone`.
    static func claims(of member: TeamMember, scopes: [OIDCScope]) -> [String: JSONClaim] {
        var claims: [String: JSONClaim] = [:]
        if scopes.contains(.profile) { claims["name"] = .string(member.name) }
        if scopes.contains(.phone) {
            claims["phone_number"] = .string(member.phone.e164)
            claims["phone_number_verified"] = .bool(true)
        }
        return claims
    }

    /// A token's row by the token, from the cache or the database; unknown tokens count against the address.
    func tokenRecord(_ token: String, clientAddress: String?) async throws -> OIDCToken? {
        try await tokenEntry(token, clientAddress: clientAddress)?.token
    }

    func tokenEntry(_ token: String, clientAddress: String?) async throws -> OIDCTokenCache.Entry? {
        let hash = SecretToken.hash(token)
        if let cached = tokens.entry(hash) { return cached }
        try unknownTokens.admitLookup(from: clientAddress, at: clock.ticks())
        guard let record = try await store.oidcToken(hash: hash) else {
            unknownTokens.recordUnknown(from: clientAddress, at: clock.ticks())
            return nil
        }
        return tokens.remember(record)
    }

    /// The app session a token rests on, when the token is unexpired and the session live: the session index's
    /// answer (every instance applies the others' ends before answering), else the disk's for a session opened on
    /// another instance.
    func liveGrant(of record: OIDCToken, clientAddress: String?) async throws -> LiveSession? {
        let now = clock.now()
        guard record.expiresAt > now else { return nil }
        if let live = try await store.liveSession(tokenHash: record.grantTokenHash, at: now) { return live }
        try unknownTokens.admitLookup(from: clientAddress, at: clock.ticks())
        guard case .live(let live) = try await store.loadSession(tokenHash: record.grantTokenHash, at: now) else { return nil }
        return live
    }
}
