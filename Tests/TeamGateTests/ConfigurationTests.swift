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
}
