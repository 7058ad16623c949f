import ArgumentParser
import Foundation
import Hummingbird
import Logging
import TeamGate

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the HTTP server.")

    @Option(help: "Address to listen on (TEAMGATE_HOST, default 127.0.0.1).") var host: String?
    @Option(help: "Port (TEAMGATE_PORT, default 8080).") var port: Int?
    @Option(
        help:
            "SQLite file, or postgres://user@host:port/database to share one PostgreSQL among instances (TEAMGATE_DATABASE, default ./teamgate.sqlite)."
    ) var database: String?
    @Option(help: "Where sign-in codes go: log, or webhook:URL (TEAMGATE_OTP_SENDER).") var otpSender: String?
    @Option(help: "HMAC secret for the webhook sender (TEAMGATE_OTP_WEBHOOK_SECRET).") var otpWebhookSecret: String?
    @Option(help: "Largest request body in bytes (TEAMGATE_BODY_LIMIT, default 65536).") var bodyLimit: Int?
    @Option(help: "Session lifetime in hours (TEAMGATE_SESSION_LIFETIME_HOURS, default 720).") var sessionLifetimeHours: Int?
    @Option(help: "trace, debug, info, notice, warning, error, critical (TEAMGATE_LOG_LEVEL).") var logLevel: String?
    @Option(
        help:
            "Comma-separated hosts webhooks may point at, then even on a private address; any public host when unset (TEAMGATE_WEBHOOK_ALLOWED_HOSTS)."
    )
    var webhookAllowedHosts: String?
    @Option(help: "Comma-separated proxy addresses or CIDR ranges whose X-Forwarded-For is believed (TEAMGATE_TRUSTED_PROXIES, default none).")
    var trustedProxies: String?
    @Option(help: "Sign-in codes one client address may ask for per 15 minutes (TEAMGATE_SIGN_IN_CODES_PER_ADDRESS, default 30).")
    var signInCodesPerAddress: Int?
    @Option(help: "Wrong sign-in codes one client address may try per hour (TEAMGATE_WRONG_CODES_PER_ADDRESS, default 50).")
    var wrongCodesPerAddress: Int?
    @Option(help: "Unknown API keys and session tokens one client address may send per minute (TEAMGATE_UNKNOWN_CREDENTIALS_PER_MINUTE, default 100).")
    var unknownCredentialsPerMinute: Int?
    @Option(help: "Seconds before a failed webhook delivery's first retry, doubling after (TEAMGATE_WEBHOOK_RETRY_SECONDS, default 2).")
    var webhookRetrySeconds: Double?
    @Option(help: "Requests per second per API key; 0 turns the limit off (TEAMGATE_RATE_LIMIT_PER_SECOND, default 20).")
    var rateLimitPerSecond: Double?
    @Option(help: "Requests an API key may make at once (TEAMGATE_RATE_LIMIT_BURST, default 40).") var rateLimitBurst: Int?
    @Option(help: "Seconds a silent connection stays open (TEAMGATE_IDLE_TIMEOUT_SECONDS, default 30).") var idleTimeoutSeconds: Int?
    @Option(help: "full: a 201 survives power loss; normal: it survives a process crash only (TEAMGATE_SQLITE_SYNCHRONOUS, default full).")
    var sqliteSynchronous: String?
    @Flag(help: "Create a demo organisation with signed-in members and print a key and a cURL (TEAMGATE_DEMO).") var demo = false

    func run() async throws {
        var flags: [String: String] = [:]
        flags["host"] = host
        flags["port"] = port.map(String.init)
        flags["database"] = database
        flags["otpSender"] = otpSender
        flags["otpWebhookSecret"] = otpWebhookSecret
        flags["bodyLimit"] = bodyLimit.map(String.init)
        flags["sessionLifetimeHours"] = sessionLifetimeHours.map(String.init)
        flags["logLevel"] = logLevel
        flags["webhookAllowedHosts"] = webhookAllowedHosts
        flags["trustedProxies"] = trustedProxies
        flags["signInCodesPerAddress"] = signInCodesPerAddress.map(String.init)
        flags["wrongCodesPerAddress"] = wrongCodesPerAddress.map(String.init)
        flags["unknownCredentialsPerMinute"] = unknownCredentialsPerMinute.map(String.init)
        flags["webhookRetrySeconds"] = webhookRetrySeconds.map { String($0) }
        flags["rateLimitPerSecond"] = rateLimitPerSecond.map { String($0) }
        flags["rateLimitBurst"] = rateLimitBurst.map(String.init)
        flags["idleTimeoutSeconds"] = idleTimeoutSeconds.map(String.init)
        flags["sqliteSynchronous"] = sqliteSynchronous
        if demo { flags["demo"] = "true" }
        let configuration: TeamGateConfiguration
        do {
            configuration = try TeamGateConfiguration(reader: TeamGateConfiguration.reader(flags: flags))
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(2)
        }
        var logger = Logger(label: "teamgate")
        logger.logLevel = configuration.logLevel
        let services = try await TeamGateServices.open(configuration, logger: logger)
        let summary = configuration.demo ? try await Demo.prepare(services) : nil
        let app = try buildApplication(configuration: configuration, services: services, logger: logger) { port in
            let base = "http://\(configuration.host):\(port)"
            if let summary {
                DemoBanner.print(summary, baseURL: base)
            } else {
                FileHandle.standardOutput.write(Data("TeamGate listening on \(base)\n".utf8))
            }
        }
        do {
            try await app.runService()
        } catch {
            await services.close()
            throw error
        }
        await services.close()
    }
}

/// What `serve --demo` prints: the key, the members and their devices, and the seed's cURL, ready to paste.
enum DemoBanner {
    static func print(_ summary: Demo.Summary, baseURL: String) {
        var lines = [
            "",
            "TeamGate demo is running on \(baseURL)",
            "",
            "Organisation: \(summary.organization.name) (\(summary.organization.id))",
            "API key (Settings → Developer Documentation; shown once, do not share it publicly):",
            "  \(summary.key.secret)",
            "",
            "API reference with Try It: \(baseURL)/docs/reference/logout-team-member",
            "",
            "Team members, signed in:",
        ]
        for entry in summary.members {
            let member = entry.member
            lines.append("  \(member.phone)  \(member.name) — \(member.role.name), \(entry.liveSessions) live session(s)")
            for (device, token) in entry.newTokens {
                lines.append("      \(device): token \(token)")
            }
        }
        let target = summary.members.last?.member.phone.e164 ?? "+919300000004"
        let token = summary.members.last?.newTokens.first?.token
        lines += [
            "",
            "Log a member out (the seed's call):",
            "  curl -i -X POST \(baseURL)/team-member/logout \\",
            "    -H 'x-public-key: \(summary.key.secret)' \\",
            "    -H 'content-type: application/json' \\",
            "    -d '{\"userPhoneNumber\": \"\(target)\"}'",
        ]
        if let token {
            lines += [
                "",
                "Check one of their devices before and after (200, then 401):",
                "  curl -i \(baseURL)/me -H 'Authorization: Bearer \(token)'",
            ]
        }
        lines.append("")
        // Written straight to the descriptor: print() buffers when stdout is a pipe, and this must show at once.
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }
}
