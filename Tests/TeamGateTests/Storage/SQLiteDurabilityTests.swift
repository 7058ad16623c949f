import Foundation
import Testing

@testable import TeamGate

/// What the SQLite file promises about an answered write; always on SQLite, whatever the run's backend.
@Suite("SQLite durability")
struct SQLiteDurabilityTests {
    /// `PRAGMA synchronous` as the store's reading and writing connections have it (0 OFF, 1 NORMAL, 2 FULL).
    static func synchronous(of services: TeamGateServices) async throws -> [Int] {
        let store = try #require(services.store as? SQLStore)
        let backend = try #require(store.backend as? SQLiteBackend)
        let reader = try await backend.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        let writer = try await backend.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        return [try #require(reader), try #require(writer)]
    }

    @Test("by default every connection runs with synchronous = FULL: an answered write survives a power loss")
    func fullByDefault() async throws {
        // setup: the configuration as it comes, nothing about durability set
        let environment = try TestEnvironment(backend: .sqlite)
        #expect(environment.configuration.sqliteSynchronous == .full)
        // act
        let services = try await environment.openServices()
        // check
        let modes = try await Self.synchronous(of: services)
        #expect(modes == [2, 2], "reader, writer: \(modes)")
    }

    @Test("sqliteSynchronous = normal gives synchronous = NORMAL on every connection")
    func normalWhenAsked() async throws {
        var environment = try TestEnvironment(backend: .sqlite)
        environment.configuration.sqliteSynchronous = .normal
        let services = try await environment.openServices()
        #expect(try await Self.synchronous(of: services) == [1, 1])
    }

    @Test("the sqliteSynchronous setting reads full by default, normal when asked, and nothing else")
    func settingParsed() throws {
        let base = ["TEAMGATE_OTP_SENDER": "log"]
        #expect(try TeamGateConfiguration(reader: TeamGateConfiguration.reader(flags: [:], environment: base)).sqliteSynchronous == .full)
        let normal = try TeamGateConfiguration(reader: TeamGateConfiguration.reader(flags: ["sqliteSynchronous": "normal"], environment: base))
        #expect(normal.sqliteSynchronous == .normal)
        #expect(throws: ConfigurationError.self) {
            try TeamGateConfiguration(reader: TeamGateConfiguration.reader(flags: ["sqliteSynchronous": "off"], environment: base))
        }
    }
}
