import Foundation
import Logging

extension TeamGateConfiguration {
    /// Every setting, in the order the help and the README list them. The flags, the environment variables, the
    /// checks, `serve --help` and the README's table all come from here; the defaults are the properties' own.
    public static let settings: [Setting] = [
        Setting("host", .string, \.host, help: "Address to listen on", shown: { .value($0) }) { $0 },
        .int("port", \.port, 0...65535, help: "Port to listen on"),
        Setting(
            "database", .secret, \.database,
            help: "SQLite file, or `postgres://user[:password]@host[:port]/database` for instances sharing one PostgreSQL; "
                + "`?sslmode=require` encrypts the connection, `?sslmode=verify-full` also checks the server's certificate "
                + "(and `&sslrootcert=PATH` trusts one more root). Without `sslmode` the connection is plain: keep the database "
                + "on a private network. A password belongs in `TEAMGATE_DATABASE`, not on the command line",
            shown: { .value($0) }
        ) { text throws(Setting.Requirement) in
            // Only text that means to be a PostgreSQL URL must be one; anything else is a SQLite path.
            guard text.lowercased().hasPrefix("postgres"), text.contains("://") else { return text }
            do throws(PostgresURLError) {
                // Building the TLS setting reads sslrootcert now, so a missing file is one more problem listed.
                _ = try PostgresURL(parsing: text).tls.client()
            } catch {
                throw Setting.Requirement(error.phrase)
            }
            return text
        },
        // One connection is always held by the listener for other instances' changes: with one alone, no read would
        // ever get a connection.
        .int(
            "postgresPoolSize", \.postgresPoolSize, 2...1_000,
            help: "Connections one instance opens to PostgreSQL at most (one of them listens for other instances' changes)"),
        .int(
            "postgresTimeoutSeconds", \.postgresTimeoutSeconds, 1...600,
            help: "Longest wait for a PostgreSQL connection or one statement's answer; past it the request gets 503 with `Retry-After`"),
        .choice(
            "sqliteSynchronous", \.sqliteSynchronous, named: { $0.rawValue.lowercased() },
            help: "`full`: an answered write survives a power loss; `normal`: it survives a process crash only"),
        Setting(
            "otpSender", .string, \.otpSender, help: "Where sign-in codes go: `log` (the server log: local use only) or `webhook:URL`",
            shown: { _ in .note("`log` with `--demo`, otherwise required") },
            whenUnset: { configuration throws(Setting.Requirement) in
                // The demo's members sign in on this machine, so its codes may go to the log.
                guard configuration.demo else { throw Setting.Requirement("is required: log (local use) or webhook:URL") }
                configuration.otpSender = .log
            }
        ) { text throws(Setting.Requirement) in
            if text == "log" { return .log }
            guard text.hasPrefix("webhook:") else { throw Setting.Requirement("must be log or webhook:URL") }
            guard let url = URL(string: String(text.dropFirst("webhook:".count))), ["http", "https"].contains(url.scheme ?? "") else {
                throw Setting.Requirement("must be webhook: followed by an http(s) URL")
            }
            return .webhook(url)
        },
        Setting("otpWebhookSecret", .secret, \.otpWebhookSecret, help: "HMAC secret for the webhook sender", shown: { _ in .note("none") }) { $0 },
        .int("bodyLimit", \.bodyLimit, 1024...67_108_864, help: "Largest request body in bytes (413 above)"),
        .int("sessionLifetimeHours", \.sessionLifetimeHours, 1...87_600, help: "Hours a session lasts unless it is ended sooner"),
        .int("consoleIdleMinutes", \.consoleIdleMinutes, 1...1440, help: "Minutes a console session may go unused before the admin signs in again"),
        .int("consoleLifetimeHours", \.consoleLifetimeHours, 1...720, help: "Hours a console session lasts however used"),
        .int("consoleFreshCodeMinutes", \.consoleFreshCodeMinutes, 0...60,
            help: "Minutes a confirmed code counts as fresh for making an API key or a webhook in the console; 0 asks every time"),
        .choice("logLevel", \.logLevel, named: \.rawValue, help: "Least severe messages the log keeps: `trace` … `critical`"),
        .choice("logFormat", \.logFormat, named: \.rawValue, help: "`text` for people, or `json`: one object a line, for a log collector"),
        .bool("accessLog", \.accessLog,
            help: "One `info` line per request: method, route, status, duration, request id, client address (`--access-log=false` turns it off)"),
        .bool("metrics", \.metrics, help: "Prometheus metrics at `GET /metrics` (`--metrics=false` turns them off)"),
        Setting(
            "metricsToken", .secret, \.metricsToken, help: "When set, `GET /metrics` needs `Authorization: Bearer <token>`",
            shown: { _ in .note("none: open to whoever reaches the port") }
        ) { $0 },
        .choice(
            "traces", \.traces, named: \.rawValue,
            help: "`otlp` sends a span per request and per group commit to an OpenTelemetry collector over OTLP/HTTP, "
                + "configured by the standard `OTEL_EXPORTER_OTLP_*` variables; `off` makes none"),
        .bool("demo", \.demo, help: "Prepare and print a demo team: members signed in, an API key and a cURL to try"),
        .list("webhookAllowedHosts", \.webhookAllowedHosts, unset: "any public host",
            help: "Comma-separated hosts (names or addresses, exact) webhooks may point at; these are reached even on a private address"
        ) { entries in Set(entries.map { $0.lowercased() }) },
        .list("trustedProxies", \.trustedProxies, unset: "none",
            help: "Comma-separated addresses or CIDR ranges of proxies whose `X-Forwarded-For` names the client and whose `X-Request-Id` is kept"
        ) { entries throws(Setting.Requirement) in
            let networks = entries.compactMap(IPNetwork.init)
            guard networks.count == entries.count else { throw Setting.Requirement("must be IP addresses or CIDR ranges, comma-separated") }
            return networks
        },
        .int("signInCodesPerAddress", \.signInCodesPerAddress, 1...100_000,
            help: "Sign-in codes one client address may ask for per 15 minutes, all numbers together"),
        .int("wrongCodesPerAddress", \.wrongCodesPerAddress, 1...100_000,
            help: "Wrong sign-in codes one client address may try per hour, all numbers together"),
        .int("unknownCredentialsPerMinute", \.unknownCredentialsPerMinute, 1...1_000_000_000,
            help: "Unknown API keys and session tokens one client address may present per minute"),
        .double("webhookRetrySeconds", \.webhookRetrySeconds, minimum: 0, minimumAllowed: false, maximum: 86_400,
            help: "Seconds before a failed webhook delivery's first retry; each later wait doubles"),
        .int("webhooksPerOrganization", \.webhooksPerOrganization, 1...1_000,
            help: "Webhooks one organisation may have at once; one more is refused (409)"),
        .int("auditRetentionDays", \.auditRetentionDays, 1...36_500, help: "Days an audit event is kept before housekeeping deletes it"),
        .int("endedSessionRetentionDays", \.endedSessionRetentionDays, 1...36_500,
            help: "Days a session is kept after it ended (or expired) before housekeeping deletes it"),
        .int("webhookDeliveryRetentionDays", \.webhookDeliveryRetentionDays, 1...36_500,
            help: "Days a webhook delivery is kept after it was queued, whatever became of it, before housekeeping deletes it"),
        .double("rateLimitPerSecond", \.rateLimitPerSecond, minimum: 0, minimumAllowed: true, maximum: 1_000_000,
            help: "Requests per second per API key on each instance; 0 turns the limit off"),
        .int("rateLimitBurst", \.rateLimitBurst, 1...1_000_000, help: "Requests an API key may make at once before the rate applies"),
        .int("idleTimeoutSeconds", \.idleTimeoutSeconds, 1...86_400, help: "Seconds a connection may stay silent before it is closed"),
        .int("connectionsPerAddress", \.connectionsPerAddress, 1...1_000_000,
            help: "Connections one client address (an IPv6 client's /64) may hold open at once; trusted proxies are not counted"),
        Setting(
            "publicUrl", .string, \.publicURL,
            help: "Where browsers and apps reach TeamGate (`https://login.example.com`): the OpenID Connect issuer and the base of every "
                + "absolute URL TeamGate writes",
            shown: { _ in .note("`http://HOST:PORT`") }
        ) { text throws(Setting.Requirement) in
            guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), !(url.host ?? "").isEmpty,
                url.query == nil, url.fragment == nil
            else { throw Setting.Requirement("must be an absolute http or https URL without a query") }
            return text
        },
        Setting(
            "cookieDomain", .string, \.cookieDomain,
            help: "The domain TeamGate's browser session cookie is shared with (`example.com`: every app under it behind forward auth), "
                + "and where /sign-in may send the browser back to",
            shown: { _ in .note("TeamGate's own host only") }
        ) { text throws(Setting.Requirement) in
            let domain = text.hasPrefix(".") ? String(text.dropFirst()).lowercased() : text.lowercased()
            guard ReturnAddress.isHostName(domain), domain.contains(".") else {
                throw Setting.Requirement("must be a domain name such as example.com (letters, digits, dots and hyphens)")
            }
            return domain
        },
    ]

    /// The settings the setup commands (`org`, `keys`, `members`) read: which database, and how to reach it.
    public static let databaseSettings = settings.filter { ["database", "postgresPoolSize"].contains($0.key) }
}
