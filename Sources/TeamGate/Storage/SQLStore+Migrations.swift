import Foundation

/// One schema change: its name (how a database remembers it ran) and its statements.
struct Migration: Sendable {
    let name: String
    let sql: String
}

extension SQLStore {
    /// Schema changes, in order, the same for both databases. Written in SQLite's types; PostgreSQL reads
    /// them through `Migration.postgresStatements` (INTEGER is 64-bit there too, BLOB is BYTEA). Times are INTEGER
    /// milliseconds; secrets are BLOB SHA-256 hashes.
    static let migrations: [Migration] = [
        Migration(
            name: "v1: organisations, keys, members, sessions, codes, audit",
            sql: """
                CREATE TABLE organizations (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE api_keys (
                    id TEXT PRIMARY KEY,
                    organization_id TEXT NOT NULL REFERENCES organizations(id),
                    prefix TEXT NOT NULL,
                    name TEXT NOT NULL,
                    secret_hash BLOB NOT NULL UNIQUE,
                    created_at INTEGER NOT NULL,
                    last_used_at INTEGER,
                    revoked_at INTEGER
                );
                CREATE INDEX api_keys_organization ON api_keys(organization_id);
                CREATE TABLE members (
                    id TEXT PRIMARY KEY,
                    organization_id TEXT NOT NULL REFERENCES organizations(id),
                    name TEXT NOT NULL,
                    phone TEXT NOT NULL,
                    email TEXT,
                    role_id INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    removed_at INTEGER
                );
                CREATE UNIQUE INDEX members_active_phone ON members(organization_id, phone) WHERE removed_at IS NULL;
                CREATE INDEX members_phone ON members(phone);
                CREATE TABLE sessions (
                    id TEXT PRIMARY KEY,
                    member_id TEXT NOT NULL REFERENCES members(id),
                    organization_id TEXT NOT NULL REFERENCES organizations(id),
                    token_hash BLOB NOT NULL UNIQUE,
                    device_name TEXT NOT NULL,
                    user_agent TEXT,
                    ip_address TEXT,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    last_seen_at INTEGER,
                    ended_at INTEGER,
                    end_reason TEXT,
                    revocation_id TEXT
                );
                CREATE INDEX sessions_live_by_member ON sessions(member_id) WHERE ended_at IS NULL;
                CREATE TABLE otp_challenges (
                    id TEXT PRIMARY KEY,
                    phone TEXT NOT NULL,
                    code_hash BLOB NOT NULL,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    consumed_at INTEGER
                );
                CREATE INDEX otp_challenges_by_phone ON otp_challenges(phone, created_at);
                CREATE TABLE audit_events (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    organization_id TEXT NOT NULL,
                    occurred_at INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    member_id TEXT,
                    member_phone TEXT,
                    reason TEXT,
                    sessions_ended INTEGER,
                    revocation_id TEXT,
                    request_id TEXT,
                    client_ip TEXT
                );
                CREATE INDEX audit_events_by_organization ON audit_events(organization_id, seq);
                """
        ),
        Migration(
            name: "v2: reporting managers, lockouts, idempotency, webhooks",
            sql: """
                ALTER TABLE members ADD COLUMN reporting_manager_id TEXT;
                ALTER TABLE members ADD COLUMN locked_until INTEGER;
                CREATE INDEX audit_events_by_member ON audit_events(organization_id, member_phone, seq);
                CREATE TABLE idempotency_records (
                    organization_id TEXT NOT NULL,
                    key TEXT NOT NULL,
                    request_hash BLOB NOT NULL,
                    status INTEGER NOT NULL,
                    body BLOB NOT NULL,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (organization_id, key)
                );
                CREATE TABLE webhooks (
                    id TEXT PRIMARY KEY,
                    organization_id TEXT NOT NULL REFERENCES organizations(id),
                    url TEXT NOT NULL,
                    events TEXT NOT NULL,
                    secret TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    deleted_at INTEGER
                );
                CREATE INDEX webhooks_by_organization ON webhooks(organization_id);
                CREATE TABLE webhook_deliveries (
                    id TEXT PRIMARY KEY,
                    webhook_id TEXT NOT NULL REFERENCES webhooks(id),
                    organization_id TEXT NOT NULL,
                    event TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    state TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    last_status INTEGER,
                    last_error TEXT,
                    next_attempt_at INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    delivered_at INTEGER
                );
                CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt_at);
                CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries(webhook_id, created_at);
                """
        ),
        Migration(
            name: "v3: what devices were told of a revocation",
            sql: """
                ALTER TABLE sessions ADD COLUMN notified_at INTEGER;
                ALTER TABLE sessions ADD COLUMN acknowledged_at INTEGER;
                CREATE INDEX sessions_by_revocation ON sessions(revocation_id) WHERE revocation_id IS NOT NULL;
                """
        ),
        Migration(
            name: "v4: index changes numbered for other instances, code order",
            sql: """
                CREATE TABLE index_epoch (
                    id INTEGER PRIMARY KEY,
                    value INTEGER NOT NULL
                );
                INSERT INTO index_epoch (id, value) VALUES (1, 0);
                ALTER TABLE sessions ADD COLUMN end_epoch INTEGER;
                CREATE INDEX sessions_by_end_epoch ON sessions(end_epoch) WHERE end_epoch IS NOT NULL;
                ALTER TABLE members ADD COLUMN change_epoch INTEGER;
                CREATE INDEX members_by_change_epoch ON members(change_epoch) WHERE change_epoch IS NOT NULL;
                ALTER TABLE otp_challenges ADD COLUMN sequence INTEGER NOT NULL DEFAULT 0;
                """
        ),
        Migration(
            name: "v5: the team in pages, expired codes and replay records pruned by age",
            sql: """
                CREATE INDEX members_by_organization ON members(organization_id, created_at, id);
                CREATE INDEX otp_challenges_by_expiry ON otp_challenges(expires_at);
                CREATE INDEX idempotency_records_by_age ON idempotency_records(created_at);
                """
        ),
        Migration(
            name: "v6: live sessions readable from their index alone",
            // The start-up load reads every live session's hash, id, member and expiry: from this index
            // alone, in one pass, instead of one table lookup per session (seconds at a million members).
            sql: """
                DROP INDEX sessions_live_by_member;
                CREATE INDEX sessions_live_by_member ON sessions(member_id, expires_at, token_hash, id, ended_at) WHERE ended_at IS NULL;
                """
        ),
        Migration(
            name: "v7: one Owner per organisation",
            // Earlier releases let the CLI add a second Owner. The first Owner (by join date) stays the Owner; any
            // other becomes a Team Lead, which keeps them an admin, before the index makes a second one impossible.
            sql: """
                UPDATE members SET role_id = 2 WHERE role_id = 1 AND removed_at IS NULL AND id <> (
                    SELECT first.id FROM members first
                    WHERE first.organization_id = members.organization_id AND first.role_id = 1 AND first.removed_at IS NULL
                    ORDER BY first.created_at, first.id LIMIT 1);
                CREATE UNIQUE INDEX members_one_owner ON members(organization_id) WHERE role_id = 1 AND removed_at IS NULL;
                """
        ),
        Migration(
            name: "v9: console sessions of their own",
            // A console session is made only by the console's sign-in and kept out of the devices' index: the
            // live-session index gains the kind, so the start-up load still reads every device session from it alone.
            // The console's member page reads a member's sessions a page at a time, newest first.
            sql: """
                ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'device';
                ALTER TABLE sessions ADD COLUMN console_used_at INTEGER;
                ALTER TABLE sessions ADD COLUMN code_confirmed_at INTEGER;
                DROP INDEX sessions_live_by_member;
                CREATE INDEX sessions_live_by_member ON sessions(member_id, expires_at, token_hash, id, ended_at, kind) WHERE ended_at IS NULL;
                CREATE INDEX sessions_by_member ON sessions(member_id, created_at, id);
                """
        ),
        Migration(
            name: "v8: audit by action and time, retention",
            // Audit pages are newest first by time, so `since` ends the walk and `action` has its own index. Old history
            // is deleted in batches: ended (or long expired) sessions by when they closed, deliveries by age. The due
            // deliveries are read organisation by organisation (round robin), hence the organisation in their index.
            sql: """
                CREATE INDEX audit_events_by_time ON audit_events(organization_id, occurred_at, seq);
                CREATE INDEX audit_events_by_action ON audit_events(organization_id, action, occurred_at, seq);
                DROP INDEX audit_events_by_member;
                CREATE INDEX audit_events_by_member ON audit_events(organization_id, member_phone, occurred_at, seq);
                CREATE INDEX sessions_by_close ON sessions(COALESCE(ended_at, expires_at));
                DROP INDEX webhook_deliveries_due;
                CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, organization_id, next_attempt_at);
                CREATE INDEX webhook_deliveries_by_age ON webhook_deliveries(created_at);
                """
        ),
        Migration(
            name: "v10: OpenID Connect apps, codes, tokens and back-channel logouts",
            // An app's sign-in is a session of kind 'app', child of the browser's SSO session: every end of the SSO
            // session or the member ends it too, and the session index refuses its tokens from the commit on. Tokens
            // are immutable rows bound to it. Logout deliveries are the outbox: queued in the transaction that ends
            // the session, one pending per (app, sid): an app signed in again under the same sid is told again.
            sql: """
                ALTER TABLE sessions ADD COLUMN parent_id TEXT;
                CREATE INDEX sessions_by_parent ON sessions(parent_id) WHERE parent_id IS NOT NULL;
                CREATE TABLE oidc_clients (
                    id TEXT PRIMARY KEY,
                    organization_id TEXT NOT NULL REFERENCES organizations(id),
                    name TEXT NOT NULL,
                    secret_hash BLOB,
                    redirect_uris TEXT NOT NULL,
                    post_logout_redirect_uris TEXT NOT NULL,
                    backchannel_logout_uri TEXT,
                    created_at INTEGER NOT NULL,
                    removed_at INTEGER
                );
                CREATE INDEX oidc_clients_by_organization ON oidc_clients(organization_id, created_at);
                CREATE TABLE oidc_signing_keys (
                    id TEXT PRIMARY KEY,
                    private_key TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    retired_at INTEGER
                );
                CREATE TABLE oidc_codes (
                    code_hash BLOB PRIMARY KEY,
                    client_id TEXT NOT NULL,
                    sso_session_id TEXT NOT NULL,
                    member_id TEXT NOT NULL,
                    organization_id TEXT NOT NULL,
                    redirect_uri TEXT NOT NULL,
                    scope TEXT NOT NULL,
                    nonce TEXT,
                    code_challenge TEXT,
                    auth_time INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    used_at INTEGER,
                    grant_session_id TEXT
                );
                CREATE INDEX oidc_codes_by_expiry ON oidc_codes(expires_at);
                CREATE TABLE oidc_grants (
                    session_id TEXT PRIMARY KEY,
                    client_id TEXT NOT NULL,
                    sso_session_id TEXT NOT NULL,
                    member_id TEXT NOT NULL,
                    scope TEXT NOT NULL,
                    auth_time INTEGER NOT NULL
                );
                CREATE TABLE oidc_tokens (
                    token_hash BLOB PRIMARY KEY,
                    kind TEXT NOT NULL,
                    grant_session_id TEXT NOT NULL,
                    grant_token_hash BLOB NOT NULL,
                    sso_session_id TEXT NOT NULL,
                    client_id TEXT NOT NULL,
                    member_id TEXT NOT NULL,
                    scope TEXT NOT NULL,
                    auth_time INTEGER NOT NULL,
                    issued_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL
                );
                CREATE INDEX oidc_tokens_by_expiry ON oidc_tokens(expires_at);
                CREATE TABLE logout_deliveries (
                    id TEXT PRIMARY KEY,
                    client_id TEXT NOT NULL,
                    sid TEXT NOT NULL,
                    sub TEXT NOT NULL,
                    uri TEXT NOT NULL,
                    state TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at INTEGER NOT NULL,
                    last_status INTEGER,
                    last_error TEXT,
                    created_at INTEGER NOT NULL
                );
                CREATE UNIQUE INDEX logout_deliveries_once ON logout_deliveries(client_id, sid) WHERE state = 'pending';
                CREATE INDEX logout_deliveries_due ON logout_deliveries(state, next_attempt_at);
                """
        ),
        Migration(
            name: "v11: SCIM provisioning: tokens, directory users, deactivated members",
            sql: """
                ALTER TABLE api_keys ADD COLUMN purpose TEXT NOT NULL DEFAULT 'api';
                ALTER TABLE members ADD COLUMN deactivated_at INTEGER;
                CREATE TABLE scim_users (
                    member_id TEXT PRIMARY KEY REFERENCES members(id),
                    organization_id TEXT NOT NULL,
                    user_name TEXT NOT NULL,
                    user_name_key TEXT NOT NULL,
                    external_id TEXT,
                    attributes TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE UNIQUE INDEX scim_users_by_user_name ON scim_users(organization_id, user_name_key);
                CREATE INDEX scim_users_by_external_id ON scim_users(organization_id, external_id);
                CREATE INDEX scim_users_in_order ON scim_users(organization_id, created_at, member_id);
                """
        ),
        Migration(
            name: "v12: session ends as appended records",
            // Ending a session appends its end here, in the order ends commit (`seq`; `epoch` where instances share
            // the database), instead of updating `sessions` and four of its indexes: a group commit then writes the
            // table's last pages, shared by the whole batch. Nothing indexes these rows by session: each instance holds
            // the ends not yet folded into `sessions` in memory (`PendingSessionEnds`), and `SessionEndFolding` folds
            // them in, oldest first, in small batches off the logouts' path.
            sql: """
                CREATE TABLE session_ends (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    session_id TEXT NOT NULL,
                    token_hash BLOB NOT NULL,
                    member_id TEXT NOT NULL,
                    organization_id TEXT NOT NULL,
                    parent_id TEXT,
                    expires_at INTEGER NOT NULL,
                    ended_at INTEGER NOT NULL,
                    reason TEXT NOT NULL,
                    revocation_id TEXT,
                    epoch INTEGER
                );
                CREATE INDEX session_ends_by_epoch ON session_ends(epoch) WHERE epoch IS NOT NULL;
                """
        ),
    ]
}

extension Migration {
    /// The statements as PostgreSQL runs them, one by one (its prepared statements hold one each).
    var postgresStatements: [String] {
        sql.replacingOccurrences(of: "INTEGER PRIMARY KEY AUTOINCREMENT", with: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
            .replacingOccurrences(of: "INTEGER", with: "BIGINT")
            .replacingOccurrences(of: "BLOB", with: "BYTEA")
            .split(separator: ";")
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty }
    }
}
