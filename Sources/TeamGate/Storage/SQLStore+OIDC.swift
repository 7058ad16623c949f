import Foundation
import GRDB

extension SQLStore: OIDCStore {
    public func oidcClient(id: String) async throws -> OIDCClient? {
        try await backend.read { db in
            try db.row("SELECT * FROM oidc_clients WHERE id = ? AND removed_at IS NULL", [id]).map(OIDCClient.init(row:))
        }
    }

    public func oidcClients(organizationID: String) async throws -> [OIDCClient] {
        try await backend.read { db in
            try db.rows("SELECT * FROM oidc_clients WHERE organization_id = ? AND removed_at IS NULL ORDER BY created_at, id", [organizationID])
                .map(OIDCClient.init(row:))
        }
    }

    public func oidcToken(hash: Data) async throws -> OIDCToken? {
        try await backend.read { db in try db.row("SELECT * FROM oidc_tokens WHERE token_hash = ?", [hash]).map(OIDCToken.init(row:)) }
    }

    public func oidcSigningKeys(publishedSince: Date) async throws -> [StoredSigningKey] {
        try await backend.read { db in
            try db.rows(
                "SELECT * FROM oidc_signing_keys WHERE retired_at IS NULL OR retired_at > ? ORDER BY created_at DESC, id",
                [publishedSince.millisecondsSince1970]
            ).map { row in
                StoredSigningKey(
                    id: row["id"], privateKeyPEM: row["private_key"], createdAt: Date(millisecondsSince1970: row["created_at"]),
                    retiredAt: Date(millisecondsSince1970: row["retired_at"] as Int64?))
            }
        }
    }

    public func claimDueLogoutDeliveries(at date: Date, limit: Int, lease: TimeInterval) async throws -> [LogoutDelivery] {
        // As webhook deliveries: read first (most polls find nothing), then claim each by moving its next attempt past
        // the lease only if nobody moved it first, on the database's clock where instances share it.
        let system = backend.system
        let (now, due) = try await backend.read { db in
            let now = try Self.sharedNow(db, system: system) ?? date.millisecondsSince1970
            let rows = try db.rows(
                "SELECT * FROM logout_deliveries WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?", [now, limit])
            return (now, rows.map(LogoutDelivery.init(row:)))
        }
        guard !due.isEmpty else { return [] }
        let until = now + Int64(lease * 1000)
        let claimed = try await writer.write { db in
            try due.filter { delivery in
                try !db.rows(
                    "UPDATE logout_deliveries SET next_attempt_at = ? WHERE id = ? AND next_attempt_at = ? AND state = 'pending' RETURNING id",
                    [until, delivery.id, delivery.nextAttemptAt.millisecondsSince1970]
                ).isEmpty
            }.map(\.id)
        }
        return due.filter { claimed.contains($0.id) }
    }

    public func recordLogoutAttempt(id: String, delivered: Bool, status: Int?, error: String?, at date: Date, retryIn: TimeInterval?) async throws {
        let state = delivered ? "delivered" : (retryIn == nil ? "failed" : "pending")
        let system = backend.system
        try await writer.write { db in
            let now = try Self.sharedNow(db, system: system) ?? date.millisecondsSince1970
            try db.execute(
                """
                UPDATE logout_deliveries SET state = ?, attempts = attempts + 1, last_status = ?, last_error = ?, next_attempt_at = ?
                WHERE id = ?
                """,
                [state, status, error, now + Int64((retryIn ?? 0) * 1000), id])
        }
    }

    public func releaseLogoutClaim(id: String, dueIn: TimeInterval, at date: Date) async throws {
        let system = backend.system
        try await writer.write { db in
            let now = try Self.sharedNow(db, system: system) ?? date.millisecondsSince1970
            try db.execute("UPDATE logout_deliveries SET next_attempt_at = ? WHERE id = ? AND state = 'pending'", [now + Int64(dueIn * 1000), id])
        }
    }

    public func pendingLogoutDeliveryCount() async throws -> Int {
        try await backend.read { db in
            Int(try db.row("SELECT COUNT(*) AS pending FROM logout_deliveries WHERE state = 'pending'", []).map { $0["pending"] as Int64 } ?? 0)
        }
    }

    public func pruneOIDC(expiredBefore date: Date, limit: Int) async throws -> Int {
        let before = date.millisecondsSince1970
        return try await writer.write { db in
            let codes = try db.rows(
                "DELETE FROM oidc_codes WHERE code_hash IN (SELECT code_hash FROM oidc_codes WHERE expires_at < ? LIMIT ?) RETURNING expires_at",
                [before, limit]
            ).count
            let tokens = try db.rows(
                "DELETE FROM oidc_tokens WHERE token_hash IN (SELECT token_hash FROM oidc_tokens WHERE expires_at < ? LIMIT ?) RETURNING expires_at",
                [before, limit]
            ).count
            return codes + tokens
        }
    }
}

extension SQLStore {
    public func pruneLogoutDeliveries(createdBefore date: Date, limit: Int) async throws -> Int {
        try await deleteBatch(from: "logout_deliveries", where: "created_at < ?", before: date, limit: limit)
    }

    public func endExpiredAppSessions(at date: Date, limit: Int) async throws -> Int {
        try await writer.write { [self] db in
            // Those a logout ended before they expired keep that end (a pending one, not yet folded into the row):
            // a housekeeping pass's one read of `session_ends`, without an index by session.
            let ended = try db.rows(
                """
                UPDATE sessions SET ended_at = expires_at, end_reason = 'expired' WHERE id IN (
                    SELECT id FROM sessions WHERE parent_id IS NOT NULL AND ended_at IS NULL AND expires_at <= ?
                        AND NOT EXISTS (SELECT 1 FROM session_ends e WHERE e.session_id = sessions.id) LIMIT ?)
                RETURNING id
                """,
                [date.millisecondsSince1970, limit]
            ).map { $0["id"] as String }
            try makeUnit(db).enqueueBackChannelLogouts(appSessionIDs: ended, at: date)
            return ended.count
        }
    }
}

extension SQLUnitOfWork {
    func insertOIDCClient(_ client: OIDCClient) throws {
        try db.execute(
            """
            INSERT INTO oidc_clients (id, organization_id, name, secret_hash, redirect_uris, post_logout_redirect_uris, backchannel_logout_uri,
                created_at, removed_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)
            """,
            [
                client.id, client.organizationID, client.name, client.secretHash, try OIDCClient.encode(client.redirectURIs),
                try OIDCClient.encode(client.postLogoutRedirectURIs), client.backchannelLogoutURI, client.createdAt.millisecondsSince1970,
            ])
    }

    func removeOIDCClient(id: String, organizationID: String, at date: Date) throws -> [String]? {
        guard
            try !db.rows(
                "UPDATE oidc_clients SET removed_at = ? WHERE id = ? AND organization_id = ? AND removed_at IS NULL RETURNING id",
                [date.millisecondsSince1970, id, organizationID]
            ).isEmpty
        else { return nil }
        return try db.rows(
            """
            SELECT s.id FROM oidc_grants g JOIN sessions s ON s.id = g.session_id
            WHERE g.client_id = ? AND s.ended_at IS NULL AND s.expires_at > ?
            """,
            [id, date.millisecondsSince1970]
        ).map { $0["id"] as String }.filter { try pendingEnd(ofSession: $0) == nil }
    }

    func insertSigningKey(_ key: StoredSigningKey) throws {
        try db.execute(
            "INSERT INTO oidc_signing_keys (id, private_key, created_at, retired_at) VALUES (?, ?, ?, NULL)",
            [key.id, key.privateKeyPEM, key.createdAt.millisecondsSince1970])
    }

    func retireSigningKeys(except keeping: String, at date: Date) throws {
        try db.execute("UPDATE oidc_signing_keys SET retired_at = ? WHERE id <> ? AND retired_at IS NULL", [date.millisecondsSince1970, keeping])
    }

    func insertOIDCCode(_ code: OIDCCode) throws {
        try db.execute(
            """
            INSERT INTO oidc_codes (code_hash, client_id, sso_session_id, member_id, organization_id, redirect_uri, scope, nonce, code_challenge,
                auth_time, expires_at, used_at, grant_session_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)
            """,
            [
                code.codeHash, code.clientID, code.ssoSessionID, code.memberID, code.organizationID, code.redirectURI, code.scope, code.nonce,
                code.codeChallenge, code.authTime.millisecondsSince1970, code.expiresAt.millisecondsSince1970,
            ])
    }

    func oidcCode(hash: Data) throws -> OIDCCode? {
        try db.row("SELECT * FROM oidc_codes WHERE code_hash = ?", [hash]).map(OIDCCode.init(row:))
    }

    func markOIDCCodeUsed(hash: Data, grantSessionID: String?, at date: Date) throws {
        try db.execute(
            "UPDATE oidc_codes SET used_at = COALESCE(used_at, ?), grant_session_id = COALESCE(grant_session_id, ?) WHERE code_hash = ?",
            [date.millisecondsSince1970, grantSessionID, hash])
    }

    func insertAppSession(
        _ session: Session, tokenHash: Data, live: LiveSession, parentID: String, clientID: String, scope: String, authTime: Date
    ) throws {
        try db.execute(
            """
            INSERT INTO sessions (id, member_id, organization_id, token_hash, device_name, user_agent, ip_address,
                created_at, expires_at, last_seen_at, ended_at, end_reason, revocation_id, kind, parent_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL, 'app', ?)
            """,
            [
                session.id, session.memberID, session.organizationID, tokenHash, session.deviceName, session.userAgent, session.ipAddress,
                session.createdAt.millisecondsSince1970, session.expiresAt.millisecondsSince1970, parentID,
            ])
        try db.execute(
            "INSERT INTO oidc_grants (session_id, client_id, sso_session_id, member_id, scope, auth_time) VALUES (?, ?, ?, ?, ?, ?)",
            [session.id, clientID, parentID, session.memberID, scope, authTime.millisecondsSince1970])
        changes.sessions.append(OpenedSession(tokenHash: tokenHash, live: live))
    }

    func insertOIDCToken(_ token: OIDCToken) throws {
        try db.execute(
            """
            INSERT INTO oidc_tokens (token_hash, kind, grant_session_id, grant_token_hash, sso_session_id, client_id, member_id, scope,
                auth_time, issued_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                token.tokenHash, token.kind.rawValue, token.grantSessionID, token.grantTokenHash, token.ssoSessionID, token.clientID, token.memberID,
                token.scope, token.authTime.millisecondsSince1970, token.issuedAt.millisecondsSince1970, token.expiresAt.millisecondsSince1970,
            ])
    }

    func enqueueBackChannelLogouts(appSessionIDs: [String], at date: Date) throws {
        for chunk in MultiRow.chunks(appSessionIDs) {
            // The delivery's id is made from the grant's session id: unique, and the same on a retried batch. It is due at
            // once (0), whatever the clocks: where instances share PostgreSQL its clock decides what is due, and this
            // instance's clock may be ahead of it.
            try db.execute(
                """
                INSERT INTO logout_deliveries (id, client_id, sid, sub, uri, state, attempts, next_attempt_at, created_at)
                SELECT 'bcl_' || g.session_id, g.client_id, g.sso_session_id, g.member_id, c.backchannel_logout_uri, 'pending', 0, 0, ?
                FROM oidc_grants g JOIN oidc_clients c ON c.id = g.client_id
                WHERE g.session_id IN (\(MultiRow.values("?", count: chunk.count))) AND c.backchannel_logout_uri IS NOT NULL
                ON CONFLICT DO NOTHING
                """,
                [date.millisecondsSince1970] + chunk.map { $0 as (any DatabaseValueConvertible)? })
        }
    }
}

extension OIDCClient {
    init(row: Row) {
        self.init(
            id: row["id"], organizationID: row["organization_id"], name: row["name"], secretHash: row["secret_hash"],
            redirectURIs: Self.decode(row["redirect_uris"]), postLogoutRedirectURIs: Self.decode(row["post_logout_redirect_uris"]),
            backchannelLogoutURI: row["backchannel_logout_uri"], createdAt: Date(millisecondsSince1970: row["created_at"]))
    }

    static func encode(_ uris: [String]) throws -> String {
        String(decoding: try JSONEncoder().encode(uris), as: UTF8.self)
    }

    /// Written by `encode` only; a cell that does not decode (edited by hand) reads as no URI, which matches nothing.
    static func decode(_ text: String) -> [String] {
        do {
            return try JSONDecoder().decode([String].self, from: Data(text.utf8))
        } catch {
            return []
        }
    }
}

extension OIDCCode {
    init(row: Row) {
        self.init(
            codeHash: row["code_hash"], clientID: row["client_id"], ssoSessionID: row["sso_session_id"], memberID: row["member_id"],
            organizationID: row["organization_id"], redirectURI: row["redirect_uri"], scope: row["scope"], nonce: row["nonce"],
            codeChallenge: row["code_challenge"], authTime: Date(millisecondsSince1970: row["auth_time"]),
            expiresAt: Date(millisecondsSince1970: row["expires_at"]), usedAt: Date(millisecondsSince1970: row["used_at"] as Int64?),
            grantSessionID: row["grant_session_id"])
    }
}

extension OIDCToken {
    init(row: Row) {
        self.init(
            tokenHash: row["token_hash"], kind: Kind(rawValue: row["kind"] as String) ?? .access, grantSessionID: row["grant_session_id"],
            grantTokenHash: row["grant_token_hash"], ssoSessionID: row["sso_session_id"], clientID: row["client_id"], memberID: row["member_id"],
            scope: row["scope"], authTime: Date(millisecondsSince1970: row["auth_time"]), issuedAt: Date(millisecondsSince1970: row["issued_at"]),
            expiresAt: Date(millisecondsSince1970: row["expires_at"]))
    }
}

extension LogoutDelivery {
    init(row: Row) {
        self.init(
            id: row["id"], clientID: row["client_id"], sid: row["sid"], sub: row["sub"], uri: row["uri"], attempts: Int(row["attempts"] as Int64),
            nextAttemptAt: Date(millisecondsSince1970: row["next_attempt_at"]))
    }
}
