import Foundation
import Testing

@testable import TeamGate

/// The PostgreSQL backend's handling of its pooled connections, on the test server.
@Suite("PostgreSQL's connection pool", .enabled(if: TestBackend.postgresServer != nil))
struct PostgresBackendTests {
    @Test("a read waiting behind a listener whose backend the server ends runs on a live connection, never on the dead one")
    func readAfterListenerTerminated() async throws {
        // setup: a backend of two connections, one listening and one held by a slow read, so a third read waits and
        // is offered the listener's when the listener ends; another backend, to end the listener's from the server's side
        let environment = try TestEnvironment(backend: .postgres)
        guard case .postgres(let url) = environment.configuration.databaseLocation else {
            Issue.record("the test environment's database is not PostgreSQL")
            return
        }
        try await PostgresTestServer.createDatabase(url)
        let backend = try await PostgresBackend.connect(url: url, poolSize: 2, timeout: .seconds(30), logger: TestEnvironment.logger)
        let administrator = try await PostgresBackend.connect(url: url, poolSize: 2, timeout: .seconds(30), logger: TestEnvironment.logger)

        for _ in 0..<3 {
            let (listening, listeningBegan) = AsyncStream.makeStream(of: Void.self)
            let listener = Task {
                try await backend.listenForIndexChanges { sentAt in
                    if sentAt == nil { listeningBegan.yield() }
                }
            }
            for await _ in listening { break }
            let slowRead = Task { try await backend.read { db in try db.execute("SELECT pg_sleep(3)", []) } }
            try await Task.sleep(for: .milliseconds(200))
            let read = Task { try await backend.read { db in try db.row("SELECT CAST(pg_backend_pid() AS bigint) AS pid", [])?["pid"] as Int64? } }
            // Each wait gives a read time to queue. Had the slow read not begun, or the read queued after the listener
            // ended, the read would pass without testing the hand-back: the waits can make the test weaker, never fail it.
            try await Task.sleep(for: .milliseconds(200))

            // act: the server ends the listener's backend, as an administrator's pg_terminate_backend or a restart does
            let ended = try await administrator.read { db in
                try db.rows(
                    """
                    SELECT CAST(pid AS bigint) AS pid FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'
                    AND pid <> pg_backend_pid() AND pg_terminate_backend(pid)
                    """, []
                ).map { $0["pid"] as Int64 }
            }

            // check: listening fails as the database's absence, and the waiting read is answered by a live backend
            #expect(ended.count == 1)
            await #expect(throws: StoreFailure.self) { try await listener.value }
            let readBy = try await read.value
            #expect(readBy != nil)
            #expect(readBy != ended.first)
            try await slowRead.value
        }
        await backend.close()
        await administrator.close()
    }

    @Test("a read whose backend the server ends under it is read once more on another connection, within its deadline")
    func readRetriedAfterItsBackendEnded() async throws {
        // setup: a read that sleeps on the server, so it can be found and ended mid-statement
        let environment = try TestEnvironment(backend: .postgres)
        guard case .postgres(let url) = environment.configuration.databaseLocation else {
            Issue.record("the test environment's database is not PostgreSQL")
            return
        }
        try await PostgresTestServer.createDatabase(url)
        let backend = try await PostgresBackend.connect(url: url, poolSize: 4, timeout: .seconds(30), logger: TestEnvironment.logger)
        let administrator = try await PostgresBackend.connect(url: url, poolSize: 2, timeout: .seconds(30), logger: TestEnvironment.logger)
        let read = Task {
            try await backend.read { db in
                try db.row("SELECT CAST(pg_backend_pid() AS bigint) AS pid, pg_sleep(1) AS slept", [])?["pid"] as Int64?
            }
        }

        // act: the server ends the backend the read sleeps on (found by polling: it shows once its statement began)
        var ended: [Int64] = []
        for _ in 0..<1_000 where ended.isEmpty {
            ended = try await administrator.read { db in
                try db.rows(
                    """
                    SELECT CAST(pid AS bigint) AS pid FROM pg_stat_activity WHERE datname = current_database()
                    AND state = 'active' AND query LIKE '%pg_sleep(1)%' AND query NOT LIKE '%pg_stat_activity%'
                    AND pg_terminate_backend(pid)
                    """, []
                ).map { $0["pid"] as Int64 }
            }
            if ended.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        }

        // check: the read is answered, by another backend than the one ended
        #expect(ended.count == 1)
        let readBy = try await read.value
        #expect(readBy != nil && readBy != ended.first)
        await backend.close()
        await administrator.close()
    }
}
