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
}
