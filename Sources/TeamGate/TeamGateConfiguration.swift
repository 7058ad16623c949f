import Configuration
import Foundation
import Logging

/// Every setting of the server, with its default. Read from command-line flags first, then
/// `TEAMGATE_*` environment variables (the key in upper snake case: `otpSender` → `TEAMGATE_OTP_SENDER`).
/// The README's configuration table lists the same keys.
public struct TeamGateConfiguration: Sendable {
    /// Where sign-in codes go.
    public enum OTPSenderSetting: Sendable, Equatable {
        /// Printed to the server log: local use only.
        case log
        /// POSTed as JSON to a gateway.
        case webhook(URL)
    }

    public var host = "127.0.0.1"
    public var port = 8080
    /// A SQLite file path, or `postgres://user[:password]@host[:port]/database`.
    public var database = "./teamgate.sqlite"

    public enum DatabaseLocation: Sendable, Equatable {
        case sqlite(path: String)
        case postgres(PostgresURL)
    }

    public var databaseLocation: DatabaseLocation {
        PostgresURL(database).map(DatabaseLocation.postgres) ?? .sqlite(path: database)
    }
    /// Required unless `demo` is on, which defaults it to `.log`.
    public var otpSender: OTPSenderSetting?
    public var otpWebhookSecret: String?
    public var bodyLimit = 64 * 1024
    public var sessionLifetimeHours = 720
    public var logLevel: Logger.Level = .info
    public var demo = false
    /// Hosts webhooks may point at, then even on a private address; nil allows any public host.
    public var webhookAllowedHosts: Set<String>?
    /// Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` names the client; none by default.
    public var trustedProxies: [IPNetwork] = []
    /// Sign-in codes one client address may ask for per 15 minutes, all numbers together.
    public var signInCodesPerAddress = 30
    /// Wrong sign-in codes one client address may try per hour, all numbers together.
    public var wrongCodesPerAddress = 50
    /// Unknown API keys and session tokens one client address may present per minute before it gets 429.
    public var unknownCredentialsPerMinute = 100
    /// Seconds before a failed webhook delivery's first retry; each later wait doubles.
    public var webhookRetrySeconds: Double = 2
    /// Requests per second per API key (token bucket); 0 turns the limit off.
    public var rateLimitPerSecond: Double = 20
    /// Requests an API key may make at once before the rate applies.
    public var rateLimitBurst = 40
    /// Seconds a connection may stay silent before it is closed.
    public var idleTimeoutSeconds = 30
    /// `full`: an answered write survives a power loss; `normal`: it survives a process crash only.
    public var sqliteSynchronous: SQLStore.Synchronous = .full

    public init() {}

    /// The keys, as they appear after `teamgate.` in the reader and after `TEAMGATE_` in the environment.
    public static let keys = [
        "host", "port", "database", "otpSender", "otpWebhookSecret", "bodyLimit", "sessionLifetimeHours", "logLevel", "demo", "webhookAllowedHosts",
        "webhookRetrySeconds", "rateLimitPerSecond", "rateLimitBurst", "idleTimeoutSeconds",
        "sqliteSynchronous", "trustedProxies", "signInCodesPerAddress", "wrongCodesPerAddress", "unknownCredentialsPerMinute",
    ]

    /// Reads every key under `teamgate`; all problems are reported at once.
    public init(reader: ConfigReader) throws(ConfigurationError) {
        let config = reader.scoped(to: "teamgate")
        var problems: [String] = []
        host = config.string(forKey: "host", default: host)
        port = config.int(forKey: "port", default: port)
        if !(0...65535).contains(port) { problems.append("port must be 0–65535 (TEAMGATE_PORT / --port)") }
        // Secret: a PostgreSQL URL may carry a password.
        database = config.string(forKey: "database", isSecret: true, default: database)
        if database.lowercased().hasPrefix("postgres"), database.contains("://"), PostgresURL(database) == nil {
            problems.append("database: a PostgreSQL URL must read postgres://user[:password]@host[:port]/database (TEAMGATE_DATABASE / --database)")
        }
        demo = config.bool(forKey: "demo", default: demo)
        otpWebhookSecret = config.string(forKey: "otpWebhookSecret", isSecret: true)
        switch config.string(forKey: "otpSender") {
        case .none:
            if demo {
                otpSender = .log
            } else {
                problems.append("otpSender is required: --otp-sender log (local use) or --otp-sender webhook:URL (TEAMGATE_OTP_SENDER)")
            }
        case "log":
            otpSender = .log
        case let value? where value.hasPrefix("webhook:"):
            if let url = URL(string: String(value.dropFirst("webhook:".count))), ["http", "https"].contains(url.scheme ?? "") {
                otpSender = .webhook(url)
            } else {
                problems.append("otpSender webhook:URL needs an http(s) URL")
            }
        case let value?:
            problems.append("otpSender must be log or webhook:URL, not \(value)")
        }
        bodyLimit = config.int(forKey: "bodyLimit", default: bodyLimit)
        if bodyLimit < 1024 { problems.append("bodyLimit must be at least 1024 bytes") }
        sessionLifetimeHours = config.int(forKey: "sessionLifetimeHours", default: sessionLifetimeHours)
        if sessionLifetimeHours < 1 { problems.append("sessionLifetimeHours must be at least 1") }
        let level = config.string(forKey: "logLevel", default: logLevel.rawValue)
        if let parsed = Logger.Level(rawValue: level) {
            logLevel = parsed
        } else {
            problems.append("logLevel must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let hosts = config.string(forKey: "webhookAllowedHosts") {
            webhookAllowedHosts = Set(hosts.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty })
        }
        if let proxies = config.string(forKey: "trustedProxies") {
            let entries = proxies.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            trustedProxies = entries.compactMap(IPNetwork.init)
            if trustedProxies.count != entries.count {
                problems.append("trustedProxies must be IP addresses or CIDR ranges, comma-separated (TEAMGATE_TRUSTED_PROXIES / --trusted-proxies)")
            }
        }
        signInCodesPerAddress = config.int(forKey: "signInCodesPerAddress", default: signInCodesPerAddress)
        if signInCodesPerAddress < 1 { problems.append("signInCodesPerAddress must be at least 1") }
        wrongCodesPerAddress = config.int(forKey: "wrongCodesPerAddress", default: wrongCodesPerAddress)
        if wrongCodesPerAddress < 1 { problems.append("wrongCodesPerAddress must be at least 1") }
        unknownCredentialsPerMinute = config.int(forKey: "unknownCredentialsPerMinute", default: unknownCredentialsPerMinute)
        if unknownCredentialsPerMinute < 1 { problems.append("unknownCredentialsPerMinute must be at least 1") }
        webhookRetrySeconds = config.double(forKey: "webhookRetrySeconds", default: webhookRetrySeconds)
        if webhookRetrySeconds <= 0 { problems.append("webhookRetrySeconds must be positive") }
        rateLimitPerSecond = config.double(forKey: "rateLimitPerSecond", default: rateLimitPerSecond)
        if rateLimitPerSecond < 0 { problems.append("rateLimitPerSecond must be 0 (off) or more") }
        rateLimitBurst = config.int(forKey: "rateLimitBurst", default: rateLimitBurst)
        if rateLimitBurst < 1 { problems.append("rateLimitBurst must be at least 1") }
        idleTimeoutSeconds = config.int(forKey: "idleTimeoutSeconds", default: idleTimeoutSeconds)
        if idleTimeoutSeconds < 1 { problems.append("idleTimeoutSeconds must be at least 1") }
        let synchronous = config.string(forKey: "sqliteSynchronous", default: "full")
        if let mode = SQLStore.Synchronous(rawValue: synchronous.uppercased()) {
            sqliteSynchronous = mode
        } else {
            problems.append("sqliteSynchronous must be full or normal")
        }
        guard problems.isEmpty else { throw ConfigurationError(problems: problems) }
    }

    /// Flags given on the command line (by key, as text), as a provider that comes before the environment.
    public static func reader(flags: [String: String], environment: [String: String] = ProcessInfo.processInfo.environment)
        -> ConfigReader
    {
        let values = Dictionary(
            uniqueKeysWithValues: flags.map { key, text -> (AbsoluteConfigKey, ConfigValue) in
                let content: ConfigContent =
                    switch key {
                    case "port", "bodyLimit", "sessionLifetimeHours", "rateLimitBurst", "idleTimeoutSeconds", "signInCodesPerAddress", "wrongCodesPerAddress",
                        "unknownCredentialsPerMinute":
                        Int(text).map(ConfigContent.int) ?? .string(text)
                    case "demo": .bool(text == "true")
                    case "webhookRetrySeconds", "rateLimitPerSecond": Double(text).map(ConfigContent.double) ?? .string(text)
                    default: .string(text)
                    }
                return (AbsoluteConfigKey(["teamgate", key]), ConfigValue(content, isSecret: key == "otpWebhookSecret"))
            }
        )
        return ConfigReader(providers: [
            InMemoryProvider(name: "flags", values: values),
            EnvironmentVariablesProvider(environmentVariables: environment, secretsSpecifier: .specific(["TEAMGATE_OTP_WEBHOOK_SECRET"])),
        ])
    }
}

/// The settings that are missing or wrong; the server does not start with any.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let problems: [String]

    public var description: String {
        "TeamGate cannot start:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}
