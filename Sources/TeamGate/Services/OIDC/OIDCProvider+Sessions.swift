import Foundation

/// What RP-initiated logout does with the browser afterwards.
public enum EndSessionOutcome: Sendable, Equatable {
    /// Back to the app's registered post-logout URI (with its `state`).
    case redirect(String)
    /// TeamGate's own "signed out" page.
    case signedOut
}

extension OIDCProvider {
    /// The member's claims for a live access token (OpenID Connect Core §5.3); `invalid_token` otherwise.
    public func userInfo(accessToken: String, clientAddress: String?) async throws -> [String: JSONClaim] {
        guard let record = try await tokenRecord(accessToken, clientAddress: clientAddress), record.kind == .access,
            let live = try await liveGrant(of: record, clientAddress: clientAddress)
        else { throw OAuthError.invalidToken }
        var claims = Self.claims(of: live.member, scopes: OIDCScope.granted(from: record.scope))
        claims["sub"] = .string(live.member.id)
        return claims
    }

    /// RFC 7662: whether a token works now, and for whom, to an app of the same organisation; `active: false`
    /// for anything else, an ended session's tokens included. Answered from the session index: no disk read for a
    /// token already seen.
    public func introspect(token: String, credentials: ClientCredentials, clientAddress: String?) async throws -> String {
        let client = try await authenticate(credentials, clientAddress: clientAddress)
        guard let entry = try await tokenEntry(token, clientAddress: clientAddress),
            let live = try await liveGrant(of: entry.token, clientAddress: clientAddress), live.member.organizationID == client.organizationID
        else { return #"{"active":false}"# }
        return entry.introspection
    }

    /// RFC 7009: the app gives up one of its tokens, which ends the sign-in it belongs to (its access and refresh
    /// tokens together, §2.1). Unknown tokens, other apps' tokens and tokens of ended sessions change nothing; the
    /// answer is the same for all.
    public func revoke(token: String, credentials: ClientCredentials, clientAddress: String?) async throws {
        let client = try await authenticate(credentials, clientAddress: clientAddress)
        guard let record = try await tokenRecord(token, clientAddress: clientAddress), record.clientID == client.id,
            try await liveGrant(of: record, clientAddress: clientAddress) != nil
        else { return }
        let end = SessionEnd(
            selection: .session(id: record.grantSessionID, organizationID: client.organizationID), reason: .signedOut,
            organizationID: client.organizationID, member: nil, origin: RequestOrigin(actor: .app(clientID: client.id), clientIP: clientAddress),
            revocationID: nil, at: clock.now(), auditReason: "App: \(client.name) revoked its tokens")
        try await transactions.run { work in _ = try SessionEnds.end(end, in: work) }
    }

    /// RP-Initiated Logout 1.0: ends the TeamGate session an ID token names (expired or not; the signature and
    /// the issuer are what count), or `cookieSession` when there is no hint, and with it every app signed in
    /// through it. The browser goes back to `postLogoutRedirectURI` only when the app registered it.
    public func endSession(
        idTokenHint: String?, clientID: String?, postLogoutRedirectURI: String?, state: String?, cookieSession: LiveSession?, clientAddress: String?
    ) async throws -> EndSessionOutcome {
        var sid = cookieSession?.sessionID
        var organizationID = cookieSession?.member.organizationID
        var client: OIDCClient?
        var actor: Principal? = cookieSession.map { .member($0.member) }
        if let idTokenHint, !idTokenHint.isEmpty {
            guard let claims = JSONWebSignature.verifiedClaims(of: idTokenHint, keys: try await keys.verifying(kidOf: idTokenHint)),
                claims["iss"] as? String == issuer, let hinted = claims["sid"] as? String,
                let audience = (claims["aud"] as? String) ?? (claims["aud"] as? [String])?.first
            else { throw TeamGateError.validation(["id_token_hint is not an ID token TeamGate issued"]) }
            client = try await store.oidcClient(id: audience)
            guard let client else { throw TeamGateError.validation(["id_token_hint names an app that is no longer registered"]) }
            sid = hinted
            organizationID = client.organizationID
            actor = .app(clientID: client.id)
        } else if let clientID {
            client = try await store.oidcClient(id: clientID)
        }
        if let sid, let organizationID, let actor {
            let now = clock.now()
            let end = SessionEnd(
                selection: .session(id: sid, organizationID: organizationID), reason: .signedOut, organizationID: organizationID, member: nil,
                origin: RequestOrigin(actor: actor, clientIP: clientAddress), revocationID: nil, at: now,
                auditReason: client.map { "Signed out through \($0.name)" } ?? "Signed out of TeamGate's sign-in")
            try await transactions.run { work in
                // Only a live session is ended (and audited): a logout repeated by the browser changes nothing.
                guard let (session, _) = try work.session(id: sid, organizationID: organizationID), session.isLive(at: now) else { return }
                _ = try SessionEnds.end(end, in: work)
            }
        }
        if let client, let postLogoutRedirectURI, client.postLogoutRedirectURIs.contains(postLogoutRedirectURI) {
            return .redirect(state.map { Self.appending(["state": $0], to: postLogoutRedirectURI) } ?? postLogoutRedirectURI)
        }
        return .signedOut
    }

    /// The logout token for one delivery (Back-Channel Logout 1.0 §2.4), signed when it is sent: its `iat` and its
    /// two-minute `exp` count from the attempt, not from the end.
    func logoutToken(for delivery: LogoutDelivery) async throws -> String {
        let now = clock.now()
        let claims: [String: JSONClaim] = [
            "iss": .string(issuer), "aud": .string(delivery.clientID), "iat": .int(Int64(now.timeIntervalSince1970)),
            "exp": .int(Int64(now.addingTimeInterval(policy.logoutTokenLifetime).timeIntervalSince1970)),
            "jti": .string(SecretToken.identifier(prefix: "")), "sid": .string(delivery.sid), "sub": .string(delivery.sub),
            "events": .object(["http://schemas.openid.net/event/backchannel-logout": .object([:])]),
        ]
        return try JSONWebSignature.sign(claims: claims, type: "logout+jwt", key: try await keys.signing())
    }

    /// The JWKS document: every published key.
    public func jwks() async throws -> [String: [[String: JSONClaim]]] {
        ["keys": try await keys.published().map { try $0.jwk() }]
    }

    /// Adds a signing key (`teamgate oidc-keys rotate`); the previous ones stay published for a day.
    public func rotateSigningKey() async throws -> String {
        try await keys.rotate().id
    }
}
