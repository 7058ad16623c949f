import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing

@testable import TeamGate

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date = Date()) {
        current = Mutex(start)
    }

    var wallClock: WallClock { WallClock { self.now } }
    var now: Date { current.withLock { $0 } }

    func advance(by seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}

/// Which database a test's store uses.
enum TestBackend: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case sqlite
    case postgres

    /// The PostgreSQL server tests may use (scripts/test starts a throwaway one): an administrator's URL,
    /// under which each test environment creates its own database.
    static var postgresServer: PostgresURL? {
        ProcessInfo.processInfo.environment["TEAMGATE_TEST_POSTGRES"].flatMap(PostgresURL.init)
    }

    /// The backend every test uses unless it names one: PostgreSQL when `TEAMGATE_TEST_BACKEND=postgres`
    /// (scripts/test runs the whole suite once on each), SQLite when it is unset. Any other value is an
    /// error naming it: a misspelt `postgress` must fail the run, not quietly test SQLite twice.
    static func requested(in environment: [String: String] = ProcessInfo.processInfo.environment) throws -> TestBackend {
        guard let value = environment["TEAMGATE_TEST_BACKEND"] else { return .sqlite }
        guard let backend = TestBackend(rawValue: value) else { throw UnknownTestBackend(value: value) }
        return backend
    }

    /// Why a run with these settings would test less than it seems to; empty when nothing is wrong.
    /// Whether the named PostgreSQL server answers is `PostgresTestServer.ping`'s to say.
    static func problems(in environment: [String: String]) -> [String] {
        var problems: [String] = []
        let backend: TestBackend?
        do {
            backend = try requested(in: environment)
        } catch {
            problems.append("\(error)")
            backend = nil
        }
        let server = environment["TEAMGATE_TEST_POSTGRES"]
        if let server, PostgresURL(server) == nil {
            problems.append("TEAMGATE_TEST_POSTGRES is set but is not a postgres:// URL with a user, a host and a database")
        }
        if backend == .postgres, server == nil {
            problems.append("TEAMGATE_TEST_BACKEND=postgres but TEAMGATE_TEST_POSTGRES is not set: no PostgreSQL server to test on")
        }
        if environment["CI"] != nil, server == nil {
            problems.append("CI is set but TEAMGATE_TEST_POSTGRES is not: the store suite would run on SQLite alone (scripts/test sets it)")
        }
        return problems
    }

    /// The backends this run can reach: both in CI, SQLite alone when no PostgreSQL was started.
    static var available: [TestBackend] { postgresServer == nil ? [.sqlite] : [.sqlite, .postgres] }

    var testDescription: String { self == .sqlite ? "SQLite" : "PostgreSQL" }
}

/// `TEAMGATE_TEST_BACKEND` set to something that is not a backend.
struct UnknownTestBackend: Error, Equatable, CustomStringConvertible {
    let value: String
    var description: String { "TEAMGATE_TEST_BACKEND=\(value) names no backend: use sqlite or postgres, or leave it unset for sqlite" }
}

/// A real database (a SQLite file in a fresh folder, or a fresh database on the test PostgreSQL server),
/// services over it, and codes captured in an outbox instead of an SMS gateway.
struct TestEnvironment {
    let folder: URL
    let backend: TestBackend
    let outbox = OTPOutbox()
    let clock = TestClock()
    var configuration = TeamGateConfiguration()

    /// On `backend`, or on the one the run asked for (`TestBackend.requested`): an unknown
    /// `TEAMGATE_TEST_BACKEND` fails every test that uses it, naming the value.
    init(backend: TestBackend? = nil) throws {
        let backend = try backend ?? TestBackend.requested()
        self.backend = backend
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("teamgate-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        switch backend {
        case .sqlite:
            configuration.database = folder.appendingPathComponent("teamgate.sqlite").path
        case .postgres:
            let server = try #require(TestBackend.postgresServer, "TEAMGATE_TEST_POSTGRES must name the test PostgreSQL server")
            let name = "teamgate_test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))"
            configuration.database = "postgres://\(server.username)@\(server.host):\(server.port)/\(name)"
            // The suite runs dozens of instances at once on two cores, each opening its pool: a connection can take
            // seconds to come here. The production default (2 s) is proven by faults_check, on a server of its own.
            configuration.postgresTimeoutSeconds = 30
        }
        configuration.port = 0
        configuration.otpSender = .log
        // Tests fire many calls with one key; the rate limit has its own test.
        configuration.rateLimitPerSecond = 0
        // Thousands of requests would flood the test output; ObservabilityRouteTests reads its own log.
        configuration.accessLog = false
    }

    /// The code sent to `phone`: codes go out after `/auth/otp` answers, so this waits up to 5 s for one.
    func code(for phone: PhoneNumber) async throws -> String {
        for _ in 0..<500 {
            if let code = outbox.latestCode(for: phone) { return code }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw CodeNotSent(phone: phone.e164)
    }

    /// The newest message sent to `phone` (a code, or word of a lock), waiting up to 5 s for one as `code(for:)` does.
    func message(for phone: PhoneNumber) async throws -> OTPMessage {
        for _ in 0..<500 {
            if let message = outbox.latest(for: phone) { return message }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw CodeNotSent(phone: phone.e164)
    }

    /// Lets the background code sender finish what it was given, before checking that nothing was sent.
    func settleCodeSender() async throws {
        try await Task.sleep(for: .milliseconds(500))
    }

    static var logger: Logger {
        var logger = Logger(label: "teamgate-tests")
        logger.logLevel = .warning
        return logger
    }

    /// Opens the database (again, for a restart) and returns fresh services over it. Codes go to the
    /// outbox unless `configuredSender` asks for the one the configuration names.
    /// An environment whose webhooks may reach a receiver on loopback, which only a host the operator allows
    /// by name may be.
    static func allowingLoopbackWebhooks() throws -> TestEnvironment {
        var environment = try TestEnvironment()
        environment.configuration.webhookAllowedHosts = ["127.0.0.1"]
        return environment
    }

    func openServices(configuredSender: Bool = false) async throws -> TeamGateServices {
        if case .postgres(let url) = configuration.databaseLocation { try await PostgresTestServer.createDatabase(url) }
        return try await TeamGateServices.open(
            configuration, logger: Self.logger, otpSender: configuredSender ? nil : outbox, clock: clock.wallClock)
    }

    func application(_ services: TeamGateServices) throws -> some ApplicationProtocol {
        try buildApplication(configuration: configuration, services: services, logger: Self.logger)
    }

    /// Runs `test` against a live server on a free port.
    func withLiveServer<Value: Sendable>(
        _ services: TeamGateServices,
        _ test: @Sendable (any TestClientProtocol) async throws -> Value
    ) async throws -> Value {
        try await application(services).test(.live, test)
    }
}

struct CodeNotSent: Error {
    let phone: String
}

/// Runs `test` with a real HTTP server for `router` on a free loopback port: a webhook receiver or an SMS gateway.
func withLoopbackServer<Value: Sendable>(_ router: Router<BasicRequestContext>, _ test: @Sendable (_ port: Int) async throws -> Value)
    async throws -> Value
{
    let server = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: TestEnvironment.logger)
    return try await server.test(.live) { client in try await test(try #require(client.port)) }
}

/// An organisation with an owner and two members, each signed in on some devices.
struct SeededTeam: Sendable {
    let organization: Organization
    let apiKey: String
    let owner: TeamMember
    let meera: TeamMember
    let rohan: TeamMember
    let meeraTokens: [String]
    let rohanTokens: [String]

    static func make(_ services: TeamGateServices, name: String = "Acme Support", phoneSuffix: String = "1") async throws -> SeededTeam {
        let created = try await services.directory.createOrganization(
            name: try MemberName(parsing: name), ownerName: "Asha Rao", ownerPhone: try PhoneNumber(parsing: "+91 93000 0000\(phoneSuffix)"))
        let meera = try await services.directory.addMember(
            organizationID: created.organization.id, name: "Meera Iyer", phone: try PhoneNumber(parsing: "+91 93111 1111\(phoneSuffix)"))
        let rohan = try await services.directory.addMember(
            organizationID: created.organization.id, name: "Rohan Das", phone: try PhoneNumber(parsing: "+91 93222 2222\(phoneSuffix)"),
            role: .teamMemberAssignedChats)
        var meeraTokens: [String] = []
        for device in ["iPhone", "Front-desk tablet"] {
            meeraTokens.append(try await services.signIn.openSession(for: meera, deviceName: device))
        }
        let rohanTokens = [try await services.signIn.openSession(for: rohan, deviceName: "Galaxy")]
        return SeededTeam(
            organization: created.organization, apiKey: created.key.secret, owner: created.owner, meera: meera, rohan: rohan,
            meeraTokens: meeraTokens, rohanTokens: rohanTokens)
    }
}

extension TestClientProtocol {
    /// POSTs a raw body (JSON unless `contentType` says otherwise).
    func post(
        _ uri: String,
        body: String,
        headers: HTTPFields = [:],
        contentType: String? = "application/json"
    ) async throws -> TestResponse {
        var headers = headers
        if let contentType { headers[.contentType] = contentType }
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    /// A call authenticated by an organisation's API key (`x-public-key`), with an optional JSON body.
    func admin(
        _ method: HTTPRequest.Method, _ uri: String, key: String, body: String? = nil, idempotencyKey: String? = nil
    ) async throws -> TestResponse {
        var headers: HTTPFields = [HTTPField.Name("x-public-key")!: key]
        if body != nil { headers[.contentType] = "application/json" }
        if let idempotencyKey { headers[HTTPField.Name("Idempotency-Key")!] = idempotencyKey }
        return try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }

    func get(_ uri: String, bearer token: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: .get, headers: headers)
    }

    /// `POST /team-member/logout` with the key in `x-public-key`, as the seed shows.
    func logout(phone: String, key: String?) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let key { headers[HTTPField.Name("x-public-key")!] = key }
        return try await post("/team-member/logout", body: #"{"userPhoneNumber": "\#(phone)"}"#, headers: headers)
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The body's `data` array.
    var data: [[String: Any]] { json["data"] as? [[String: Any]] ?? [] }

    /// The body as a JSON object.
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]) ?? [:]
    }
}

/// Compares two JSON documents by value, ignoring key order and whitespace.
func sameJSON(_ actual: TestResponse, _ expected: String) -> Bool {
    guard let left = try? JSONSerialization.jsonObject(with: Data(buffer: actual.body)),
        let right = try? JSONSerialization.jsonObject(with: Data(expected.utf8))
    else { return false }
    return NSDictionary(dictionary: ["v": left]).isEqual(to: ["v": right])
}
