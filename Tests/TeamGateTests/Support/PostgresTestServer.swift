import Foundation
import Logging
import PostgresNIO

@testable import TeamGate

/// The throwaway PostgreSQL server scripts/test starts: each test environment gets its own database on it.
enum PostgresTestServer {
    /// Connects to `server` and runs `SELECT 1`: throws when nothing answers there.
    static func ping(_ server: PostgresURL) async throws {
        let configuration = PostgresConnection.Configuration(
            host: server.host, port: server.port, username: server.username, password: server.password, database: server.database, tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: TestEnvironment.logger)
        do {
            _ = try await connection.query("SELECT 1", logger: TestEnvironment.logger)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }

    /// Creates `url`'s database unless it exists (a restart in a test opens it again).
    static func createDatabase(_ url: PostgresURL) async throws {
        guard let server = TestBackend.postgresServer else { return }
        let configuration = PostgresConnection.Configuration(
            host: server.host, port: server.port, username: server.username, password: server.password, database: server.database, tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: TestEnvironment.logger)
        do {
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(url.database)"), logger: TestEnvironment.logger)
        } catch let error as PSQLError where ["42P04", "23505"].contains(error.serverInfo?[.sqlState]) {
            // it exists already: opened again after a restart, or by instances starting together
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }
}
