import Configuration
import Foundation
import Logging

/// Every setting of the server. Read from command-line flags first, then `TEAMGATE_*` environment variables,
/// then these initial values. What each property means, its flag, its variable and its checks are in `settings`.
public struct TeamGateConfiguration: Sendable {
    /// Where sign-in codes go.
    public enum OTPSenderSetting: Sendable, Equatable {
        /// Printed to the server log: local use only.
        case log
        /// POSTed as JSON to a gateway.
        case webhook(URL)
    }

    public enum DatabaseLocation: Sendable, Equatable {
        case sqlite(path: String)
        case postgres(PostgresURL)
    }

    public var host = "127.0.0.1"
    public var port = 8080
    /// Where browsers and apps reach TeamGate: the OpenID Connect issuer. Nil: `http://HOST:PORT`.
    public var publicURL: String?
    /// The domain the browser session cookie is set for (`Domain=`), lowercased, without a leading dot. Nil:
    /// TeamGate's own host.
    public var cookieDomain: String?
    /// A SQLite file path, or `postgres://user[:password]@host[:port]/database[?sslmode=…]`.
    public var database = "./teamgate.sqlite"
    public var postgresPoolSize = 32
    public var postgresTimeoutSeconds = 2
    public var sqliteSynchronous: SQLStore.Synchronous = .full
    /// Required unless `demo` is on, which defaults it to `.log`.
    public var otpSender: OTPSenderSetting?
    public var otpWebhookSecret: String?
    public var bodyLimit = 64 * 1024
    public var sessionLifetimeHours = 720
    public var consoleIdleMinutes = 30
    public var consoleLifetimeHours = 12
    public var consoleFreshCodeMinutes = 5
    public var logLevel: Logger.Level = .info
    public var logFormat: LogFormat = .text
    public var accessLog = true
    public var metrics = true
    /// Nil leaves `/metrics` open to whoever reaches the port.
    public var metricsToken: String?
    public var traces: TracesSetting = .off
    public var demo = false
    /// Nil allows any public host.
    public var webhookAllowedHosts: Set<String>?
    public var trustedProxies: [IPNetwork] = []
    public var signInCodesPerAddress = 30
    public var wrongCodesPerAddress = 50
    public var unknownCredentialsPerMinute = 100
    public var webhookRetrySeconds: Double = 2
    public var webhooksPerOrganization = 20
    public var auditRetentionDays = 365
    public var endedSessionRetentionDays = 90
    public var webhookDeliveryRetentionDays = 30
    public var rateLimitPerSecond: Double = 20
    public var rateLimitBurst = 40
    public var idleTimeoutSeconds = 30
    public var connectionsPerAddress = 1_024

    public var databaseLocation: DatabaseLocation {
        PostgresURL(database).map(DatabaseLocation.postgres) ?? .sqlite(path: database)
    }

    /// The OpenID Connect issuer and the base of every absolute URL TeamGate writes, without a trailing slash.
    public var issuer: String {
        guard let publicURL else { return "http://\(host):\(port)" }
        return publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
    }

    public init() {}

    /// Reads `settings` (all of them unless told) under `teamgate`; every problem is reported at once.
    public init(reader: ConfigReader, settings: [Setting] = Self.settings) throws(ConfigurationError) {
        let config = reader.scoped(to: "teamgate")
        var problems: [String] = []
        var unset: [Setting] = []
        for setting in settings {
            // Read as text whatever the kind: the setting's own parser then names what a wrong value must be,
            // where a typed read would quietly fall back to the default.
            guard let text = config.string(forKey: ConfigKey(setting.key), isSecret: setting.kind == .secret) else {
                unset.append(setting)
                continue
            }
            do {
                try setting.store(text, &self)
            } catch {
                problems.append(setting.problem(error, given: text))
            }
        }
        // After every given value, so a rule may depend on another setting (the demo's code sender).
        for setting in unset {
            do {
                try setting.whenUnset(&self)
            } catch {
                problems.append(setting.problem(error, given: nil))
            }
        }
        guard problems.isEmpty else { throw ConfigurationError(problems: problems) }
    }

    /// `serve`'s command line (`--port 8080`, `--port=8080`, `--demo`), then `environment`, then the defaults.
    /// Unknown or malformed flags and wrong values are all reported at once.
    public init(arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) {
        let parsed = SettingArguments.parse(arguments)
        do {
            try self.init(reader: Self.reader(flags: parsed.flags, environment: environment))
        } catch {
            throw ConfigurationError(problems: parsed.problems + error.problems)
        }
        guard parsed.problems.isEmpty else { throw ConfigurationError(problems: parsed.problems) }
    }

    /// Flags given on the command line (by key, as text), as a provider that comes before the environment.
    public static func reader(flags: [String: String], environment: [String: String] = ProcessInfo.processInfo.environment)
        -> ConfigReader
    {
        let secretKeys = Set(settings.filter { $0.kind == .secret }.map(\.key))
        let values = Dictionary(
            uniqueKeysWithValues: flags.map { key, text in
                (AbsoluteConfigKey(["teamgate", key]), ConfigValue(.string(text), isSecret: secretKeys.contains(key)))
            }
        )
        return ConfigReader(providers: [
            InMemoryProvider(name: "flags", values: values),
            EnvironmentVariablesProvider(
                environmentVariables: environment,
                secretsSpecifier: .specific(Set(settings.filter { $0.kind == .secret }.map(\.environmentVariable)))),
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
