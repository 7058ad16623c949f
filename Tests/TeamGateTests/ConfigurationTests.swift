import Foundation
import Testing

@testable import TeamGate

@Suite("Configuration")
struct ConfigurationTests {
    @Test("flags come before TEAMGATE_* variables, which come before defaults")
    func precedence() throws {
        let reader = TeamGateConfiguration.reader(
            flags: ["port": "9090"],
            environment: ["TEAMGATE_PORT": "7070", "TEAMGATE_DATABASE": "/tmp/x.sqlite", "TEAMGATE_OTP_SENDER": "webhook:http://127.0.0.1:9/otp"]
        )
        let configuration = try TeamGateConfiguration(reader: reader)
        #expect(configuration.port == 9090)
        #expect(configuration.database == "/tmp/x.sqlite")
        #expect(configuration.otpSender == .webhook(URL(string: "http://127.0.0.1:9/otp")!))
        #expect(configuration.bodyLimit == 65536)
    }

    @Test("the demo defaults the code sender to the log")
    func demoDefaults() throws {
        let configuration = try TeamGateConfiguration(reader: TeamGateConfiguration.reader(flags: ["demo": "true"], environment: [:]))
        #expect(configuration.otpSender == .log)
    }

    @Test("every missing or wrong setting is listed at once")
    func problemsListed() {
        let reader = TeamGateConfiguration.reader(flags: [:], environment: ["TEAMGATE_LOG_LEVEL": "loud", "TEAMGATE_PORT": "70000"])
        #expect {
            try TeamGateConfiguration(reader: reader)
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.problems.count == 3 && error.description.contains("otpSender is required")
        }
    }

    @Test("a postgres:// database selects PostgreSQL; a malformed one is a problem that does not show the password")
    func postgresDatabase() throws {
        let environment = ["TEAMGATE_OTP_SENDER": "log"]
        let configuration = try TeamGateConfiguration(
            reader: TeamGateConfiguration.reader(
                flags: [:], environment: environment.merging(["TEAMGATE_DATABASE": "postgres://tg:s3cret@db.internal:6432/teamgate"]) { $1 }))
        let url = try #require(PostgresURL("postgres://tg:s3cret@db.internal:6432/teamgate"))
        #expect(configuration.databaseLocation == .postgres(url))
        #expect(url.host == "db.internal" && url.port == 6432 && url.username == "tg" && url.password == "s3cret" && url.database == "teamgate")
        #expect(url.description == "postgres://tg@db.internal:6432/teamgate")
        #expect(PostgresURL("postgresql://tg@db/teamgate")?.port == 5432)
        #expect(
            try TeamGateConfiguration(reader: TeamGateConfiguration.reader(flags: [:], environment: environment)).databaseLocation
                == .sqlite(path: "./teamgate.sqlite"))
        for malformed in ["postgres://db.internal/teamgate", "postgres://tg:s3cret@db.internal:6432/", "postgres://tg:s3cret@/teamgate"] {
            #expect {
                try TeamGateConfiguration(reader: TeamGateConfiguration.reader(flags: ["database": malformed], environment: environment))
            } throws: { error in
                let description = (error as? ConfigurationError)?.description ?? ""
                return description.contains("postgres://user[:password]@host[:port]/database") && !description.contains("s3cret")
            }
        }
    }

    @Test("the README's configuration table is the one the settings make")
    func readmeTable() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let lines = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8).components(separatedBy: "\n")
        let header = "| flag | environment | default | meaning |"
        let start = try #require(lines.firstIndex(of: header), "README.md has no settings table headed \(header)")
        let table = lines[start...].prefix { $0.hasPrefix("|") }.joined(separator: "\n")
        #expect(table == Setting.markdownTable(), "README.md's table is out of date: paste `teamgate settings --markdown` over it")
    }

    @Test("each setting's flag and variable are spelled from its key, and reach it")
    func namesFromKeys() throws {
        #expect(Set(TeamGateConfiguration.settings.map(\.key)).count == TeamGateConfiguration.settings.count)
        // One valid text per setting, other than its default, so the configuration shows whether it arrived.
        let samples = [
            "host": "0.0.0.0", "port": "9191", "database": "/tmp/samples.sqlite", "postgresPoolSize": "4", "postgresTimeoutSeconds": "5", "sqliteSynchronous": "normal",
            "otpSender": "webhook:http://127.0.0.1:9/otp", "otpWebhookSecret": "shh", "bodyLimit": "2048", "sessionLifetimeHours": "2",
            "logLevel": "debug", "demo": "true", "webhookAllowedHosts": "hooks.example", "trustedProxies": "10.0.0.0/8",
            "signInCodesPerAddress": "3", "wrongCodesPerAddress": "4", "unknownCredentialsPerMinute": "5", "webhookRetrySeconds": "0.5",
            "rateLimitPerSecond": "0", "rateLimitBurst": "2", "idleTimeoutSeconds": "5", "logFormat": "json", "accessLog": "false",
            "metrics": "false", "metricsToken": "scrape-secret", "traces": "otlp",
            "consoleIdleMinutes": "10", "consoleLifetimeHours": "2", "consoleFreshCodeMinutes": "0", "connectionsPerAddress": "64",
            "webhooksPerOrganization": "5", "auditRetentionDays": "30", "endedSessionRetentionDays": "7", "webhookDeliveryRetentionDays": "3",
            "publicUrl": "https://login.example.com", "cookieDomain": "example.com",
        ]
        #expect(Set(samples.keys) == Set(TeamGateConfiguration.settings.map(\.key)), "a new setting needs a sample here")
        let base = ["TEAMGATE_OTP_SENDER": "log"]
        let defaults = String(reflecting: try TeamGateConfiguration(reader: TeamGateConfiguration.reader(flags: [:], environment: base)))
        for setting in TeamGateConfiguration.settings {
            let words = setting.key.map { $0.isUppercase ? "_" + $0.lowercased() : String($0) }.joined()
            #expect(setting.flag == "--" + words.replacingOccurrences(of: "_", with: "-"))
            #expect(setting.environmentVariable == "TEAMGATE_" + words.uppercased())
            let sample = try #require(samples[setting.key])
            let fromVariable = try TeamGateConfiguration(
                reader: TeamGateConfiguration.reader(flags: [:], environment: base.merging([setting.environmentVariable: sample]) { $1 }))
            let fromFlag = try TeamGateConfiguration(
                arguments: setting.kind == .bool ? [sample == "true" ? setting.flag : "\(setting.flag)=\(sample)"] : [setting.flag, sample],
                environment: base)
            #expect(String(reflecting: fromVariable) != defaults, "\(setting.environmentVariable) did not reach \(setting.key)")
            #expect(String(reflecting: fromFlag) == String(reflecting: fromVariable), "\(setting.flag) and its variable differ")
        }
    }

    @Test("a wrong number in any numeric setting is reported with its flag and variable")
    func wrongNumbers() {
        for setting in TeamGateConfiguration.settings where setting.kind == .int || setting.kind == .double {
            for wrong in ["abc", "-5"] {
                let reader = TeamGateConfiguration.reader(flags: [:], environment: ["TEAMGATE_OTP_SENDER": "log", setting.environmentVariable: wrong])
                #expect {
                    try TeamGateConfiguration(reader: reader)
                } throws: { error in
                    guard let problems = (error as? ConfigurationError)?.problems, problems.count == 1 else { return false }
                    return problems[0].hasPrefix("\(setting.key) must be a") && problems[0].contains(", not \(wrong) (\(setting.flag) / \(setting.environmentVariable))")
                }
            }
        }
    }

    @Test("every numeric setting has a ceiling: a value that would overflow later is a problem now")
    func ceilings() {
        // The three that passed validation and crashed the server later, then every numeric setting past its range.
        let huge = [
            ("TEAMGATE_SESSION_LIFETIME_HOURS", "3000000000000"), ("TEAMGATE_IDLE_TIMEOUT_SECONDS", "10000000000"),
            ("TEAMGATE_WEBHOOK_RETRY_SECONDS", "1e300"),
        ] + TeamGateConfiguration.settings.filter { $0.kind == .int || $0.kind == .double }.map { ($0.environmentVariable, "9223372036854775807") }
        for (variable, value) in huge {
            let reader = TeamGateConfiguration.reader(flags: [:], environment: ["TEAMGATE_OTP_SENDER": "log", variable: value])
            #expect {
                try TeamGateConfiguration(reader: reader)
            } throws: { error in
                guard let problems = (error as? ConfigurationError)?.problems, problems.count == 1 else { return false }
                return problems[0].contains(" to ") || problems[0].contains("at most")
            }
        }
    }

    @Test("the pool size is 32 unless set, and at least 1")
    func poolSize() throws {
        let base = ["TEAMGATE_OTP_SENDER": "log"]
        #expect(try TeamGateConfiguration(reader: TeamGateConfiguration.reader(flags: [:], environment: base)).postgresPoolSize == 32)
        #expect(try TeamGateConfiguration(arguments: ["--postgres-pool-size", "8"], environment: base).postgresPoolSize == 8)
        #expect {
            try TeamGateConfiguration(arguments: ["--postgres-pool-size=1"], environment: base)
        } throws: { error in
            (error as? ConfigurationError)?.problems
                == ["postgresPoolSize must be a whole number from 2 to 1000, not 1 (--postgres-pool-size / TEAMGATE_POSTGRES_POOL_SIZE)"]
        }
    }

    @Test("sslmode picks the connection's TLS; an unknown one is a problem that does not show the password")
    func sslMode() throws {
        let base = "postgres://tg:s3cret@db.internal/teamgate"
        #expect(PostgresURL(base)?.tls == .disable)
        #expect(PostgresURL(base + "?sslmode=disable")?.tls == .disable)
        #expect(PostgresURL(base + "?sslmode=prefer")?.tls == .prefer)
        #expect(PostgresURL(base + "?sslmode=require")?.tls == .require)
        #expect(PostgresURL(base + "?sslmode=verify-ca")?.tls == .verifyCA(rootCertificate: nil))
        #expect(PostgresURL(base + "?sslmode=verify-full")?.tls == .verifyFull(rootCertificate: nil))
        let rooted = try #require(PostgresURL(base + "?sslmode=verify-full&sslrootcert=/etc/teamgate/root.pem"))
        #expect(rooted.tls == .verifyFull(rootCertificate: "/etc/teamgate/root.pem"))
        #expect(rooted.description == "postgres://tg@db.internal:5432/teamgate?sslmode=verify-full&sslrootcert=/etc/teamgate/root.pem")
        // The root is read before connecting: a missing file stops the start instead of trusting nothing more.
        #expect(throws: PostgresURLError.unreadableRootCertificate("/nonexistent/root.pem")) {
            try PostgresURL(base + "?sslmode=verify-full&sslrootcert=/nonexistent/root.pem")?.tls.client()
        }
        #expect(throws: Never.self) { try PostgresURL(base + "?sslmode=require")?.tls.client() }
        #expect(PostgresURL(base + "?sslmode=allow") == nil && PostgresURL(base + "?sslmode=require&sslrootcert=/x.pem") == nil)
        for (query, phrase) in [
            ("?sslmode=allow", "database must name an sslmode of disable, prefer, require, verify-ca, verify-full, not allow"),
            ("?sslmode=require&sslrootcert=/x.pem", "database must not give sslrootcert with sslmode=require"),
            ("?sslmode=verify-full&sslrootcert=/nonexistent/root.pem", "database must name an sslrootcert file of PEM certificates"),
        ] {
            #expect {
                try TeamGateConfiguration(arguments: ["--database", base + query, "--demo"], environment: [:])
            } throws: { error in
                let description = (error as? ConfigurationError)?.description ?? ""
                return description.contains(phrase) && description.contains("(--database / TEAMGATE_DATABASE)") && !description.contains("s3cret")
            }
        }
    }

    @Test("serve's flags: --key value, --key=value, bare on/off flags, and every flag the scripts use")
    func serveArguments() throws {
        let arguments = [
            "--database", "/tmp/x.sqlite", "--port", "18080", "--otp-sender", "webhook:http://127.0.0.1:9/otp", "--otp-webhook-secret", "shh",
            "--demo", "--rate-limit-per-second", "0", "--unknown-credentials-per-minute", "7", "--trusted-proxies", "127.0.0.1,10.0.0.0/8",
            "--webhook-allowed-hosts", "127.0.0.1", "--sqlite-synchronous", "normal", "--idle-timeout-seconds", "9", "--log-level", "debug",
            "--sign-in-codes-per-address=100000", "--rate-limit-burst", "-1",
        ]
        let parsed = SettingArguments.parse(arguments)
        #expect(parsed.problems.isEmpty)
        #expect(parsed.flags["demo"] == "true" && parsed.flags["signInCodesPerAddress"] == "100000" && parsed.flags["rateLimitBurst"] == "-1")
        let configuration = try TeamGateConfiguration(arguments: Array(arguments.dropLast(2)), environment: [:])
        #expect(configuration.port == 18080 && configuration.demo && configuration.rateLimitPerSecond == 0)
        #expect(configuration.unknownCredentialsPerMinute == 7 && configuration.trustedProxies.count == 2 && configuration.idleTimeoutSeconds == 9)
        #expect(configuration.webhookAllowedHosts == ["127.0.0.1"] && configuration.sqliteSynchronous == .normal && configuration.logLevel == .debug)
        #expect(configuration.signInCodesPerAddress == 100000 && configuration.otpWebhookSecret == "shh")
        #expect(try TeamGateConfiguration(arguments: ["--demo=false", "--otp-sender=log"], environment: ["TEAMGATE_DEMO": "true"]).demo == false)
    }

    @Test("unknown, repeated and valueless flags are problems, listed with the wrong values")
    func badArguments() {
        #expect {
            try TeamGateConfiguration(arguments: ["--nope", "1", "--port", "abc", "--port", "1", "stray", "--demo", "--host"], environment: [:])
        } throws: { error in
            guard let problems = (error as? ConfigurationError)?.problems else { return false }
            return problems.count == 5
                && problems[0] == "--port is given more than once"
                && problems[1] == "unexpected argument stray: a setting is given as --key value or --key=value"
                && problems[2] == "--host needs a value: --host <value> or --host=<value>"
                && problems[3].hasPrefix("unknown flag --nope; the settings are --host, --port, --database")
                && problems[4] == "port must be a whole number from 0 to 65535, not abc (--port / TEAMGATE_PORT)"
        }
    }

    @Test("the setup commands read only the database settings: flag, then TEAMGATE_DATABASE, then the default")
    func databaseSettings() throws {
        let settings = TeamGateConfiguration.databaseSettings
        #expect(settings.map(\.key) == ["database", "postgresPoolSize"])
        let environment = ["TEAMGATE_DATABASE": "/tmp/from-variable.sqlite", "TEAMGATE_POSTGRES_POOL_SIZE": "3"]
        let fromVariable = try TeamGateConfiguration(reader: TeamGateConfiguration.reader(flags: [:], environment: environment), settings: settings)
        #expect(fromVariable.database == "/tmp/from-variable.sqlite" && fromVariable.postgresPoolSize == 3)
        let fromFlag = try TeamGateConfiguration(
            reader: TeamGateConfiguration.reader(flags: ["database": "/tmp/from-flag.sqlite"], environment: environment), settings: settings)
        #expect(fromFlag.database == "/tmp/from-flag.sqlite")
        #expect(try TeamGateConfiguration(reader: TeamGateConfiguration.reader(flags: [:], environment: [:]), settings: settings).database == "./teamgate.sqlite")
    }

    @Test("serve --help lists every flag, variable and default")
    func helpText() {
        let help = Setting.helpText()
        for setting in TeamGateConfiguration.settings {
            #expect(help.contains("  \(setting.flag)") && help.contains(setting.environmentVariable + "; default: "))
        }
        #expect(help.contains("TEAMGATE_PORT; default: 8080") && !help.contains("`"))
    }
}
