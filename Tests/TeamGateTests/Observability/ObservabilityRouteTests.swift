import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

@testable import TeamGate

@Suite("Running it in production: request ids, the access log, /metrics, the log formats")
struct ObservabilityRouteTests {
    /// A `LogOutput` writing into a fresh file, and a way to read back its lines.
    struct CapturedLog {
        let path: String
        let output: LogOutput

        init(_ environment: TestEnvironment) {
            path = environment.folder.appendingPathComponent("log-\(UUID().uuidString).txt").path
            output = LogOutput(descriptor: open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600))
        }

        func lines() throws -> [String] {
            output.flush()
            return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        }
    }

    /// Hummingbird's own request ids: hex digits, 32 at most (its random half is not zero-padded).
    static func isGenerated(_ id: String?) -> Bool {
        guard let id else { return false }
        return (17...32).contains(id.utf8.count) && id.allSatisfy(\.isHexDigit)
    }

    @Test("every answer carries X-Request-Id; a trusted proxy's own id is kept (answer and audit), a malformed or untrusted one is not")
    func requestIDs() async throws {
        var environment = try TestEnvironment()
        environment.configuration.trustedProxies = [try #require(IPNetwork("127.0.0.1/32"))]
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let health = try await client.get("/health")
            #expect(Self.isGenerated(health.headers[.xRequestID]))
            let missing = try await client.get("/no-such-page")
            #expect(missing.status == .notFound)
            #expect(missing.headers[.xRequestID] != nil)

            let logout = try await client.post(
                "/team-member/logout", body: #"{"userPhoneNumber": "\#(team.meera.phone.e164)"}"#,
                headers: [.publicKey: team.apiKey, .xRequestID: "nginx-7f3a:42"])
            #expect(logout.status == .created)
            #expect(logout.headers[.xRequestID] == "nginx-7f3a:42")
            let event = try #require(try await services.directory.auditEvents(organizationID: team.organization.id).first)
            #expect(event.requestID == "nginx-7f3a:42")

            let spaced = try await client.execute(uri: "/health", method: .get, headers: [.xRequestID: "two words"])
            #expect(Self.isGenerated(spaced.headers[.xRequestID]))
            let long = try await client.execute(uri: "/health", method: .get, headers: [.xRequestID: String(repeating: "a", count: 129)])
            #expect(Self.isGenerated(long.headers[.xRequestID]))
        }
        await services.close()

        // Without trusted proxies, nobody names the request.
        let plain = try TestEnvironment()
        let plainServices = try await plain.openServices()
        try await plain.withLiveServer(plainServices) { client in
            let answer = try await client.execute(uri: "/health", method: .get, headers: [.xRequestID: "chosen-by-client"])
            #expect(Self.isGenerated(answer.headers[.xRequestID]))
        }
        await plainServices.close()
    }

    @Test("the access log: one line per request with the route's pattern, status and id; never a token, a number, a key or a query", arguments: LogFormat.allCases)
    func accessLog(format: LogFormat) async throws {
        var environment = try TestEnvironment()
        environment.configuration.accessLog = true
        environment.configuration.logFormat = format
        let log = CapturedLog(environment)
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let token = team.rohanTokens[0]
        let (ids, revocationID) = try await buildApplication(configuration: environment.configuration, services: services, logger: TestEnvironment.logger, logOutput: log.output)
            .test(.live) { client -> ([String], String) in
                let me = try await client.get("/me", bearer: token)
                let query = try await client.get("/me?token=\(token)")
                let logout = try await client.logout(phone: team.meera.phone.e164, key: team.apiKey)
                let revocationID = try #require(logout.json["revocationId"] as? String)
                let revocation = try await client.execute(uri: "/revocations/\(revocationID)", method: .get, headers: [.publicKey: team.apiKey])
                return ([me, query, logout, revocation].map { $0.headers[.xRequestID] ?? "" }, revocationID)
            }
        await services.close()
        let lines = try log.lines().filter { $0.contains("request") }
        try #require(lines.count == 4, "\(lines)")
        let expected: [(method: String, route: String, status: Int)] = [
            ("GET", "/me", 200), ("GET", "/me", 401), ("POST", "/team-member/logout", 201), ("GET", "/revocations/{id}", 200),
        ]
        for (line, (want, id)) in zip(lines, zip(expected, ids)) {
            for secret in [token, team.apiKey, team.meera.phone.e164, team.meera.phone.digits, revocationID, "token="] {
                #expect(!line.contains(secret), "\(line)")
            }
            switch format {
            case .text:
                #expect(line.contains("method=\(want.method) route=\(want.route) status=\(want.status) "), "\(line)")
                #expect(line.contains("hb.request.id=\(id) "))
                #expect(line.contains("client=127.0.0.1 "))
            case .json:
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                #expect(object["method"] as? String == want.method)
                #expect(object["route"] as? String == want.route)
                #expect(object["status"] as? Int == want.status)
                #expect(object["hb.request.id"] as? String == id)
                #expect(object["client"] as? String == "127.0.0.1")
                #expect(object["level"] as? String == "info")
                #expect((object["duration_ms"] as? Double).map { $0 >= 0 } == true)
            }
        }
    }

    /// The exposition's samples by series (`name{labels}`).
    static func samples(_ text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    @Test("GET /metrics: Prometheus text whose counters move with real traffic; behind its token when one is set; no secret in any label")
    func metrics() async throws {
        TeamGateMetrics.bootstrapSwiftMetrics()
        var environment = try TestEnvironment()
        environment.configuration.metricsToken = "scrape-token-1"
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            #expect(try await client.get("/metrics").status == .unauthorized)
            #expect(try await client.get("/metrics", bearer: "scrape-token-2").status == .unauthorized)
            let before = try await client.get("/metrics", bearer: "scrape-token-1")
            #expect(before.status == .ok)
            #expect(before.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)

            #expect(try await client.logout(phone: team.meera.phone.e164, key: team.apiKey).status == .created)
            #expect(try await client.logout(phone: "+919999999999", key: team.apiKey).status == .unprocessableContent)
            #expect(try await client.get("/me", bearer: team.rohanTokens[0]).status == .ok)

            let after = try await client.get("/metrics", bearer: "scrape-token-1")
            let (old, new) = (Self.samples(before.text), Self.samples(after.text))
            func moved(_ series: String) -> Double { (new[series] ?? 0) - (old[series] ?? 0) }
            // Other tests run in the same process and share the registry: at least, not exactly.
            #expect(moved(#"teamgate_sessions_ended_total{reason="admin_logout"}"#) >= 2)
            #expect(moved(#"teamgate_logouts_total{outcome="ended"}"#) >= 1)
            #expect(moved(#"teamgate_logouts_total{outcome="refused"}"#) >= 1)
            #expect(moved(#"http_server_requests_total{http_route="/team-member/logout",http_request_method="POST",http_response_status_code="201"}"#) >= 1)
            #expect(moved(#"http_server_requests_total{http_route="/team-member/logout",http_request_method="POST",http_response_status_code="422"}"#) >= 1)
            #expect(moved(#"http_server_requests_total{http_route="/me",http_request_method="GET",http_response_status_code="200"}"#) >= 1)
            #expect(moved("teamgate_group_commit_writes_count") >= 1)
            #expect(new["teamgate_index_warm"] == 1)
            #expect(new["teamgate_database_reachable"] == 1)
            #expect(new["teamgate_webhook_queue_depth"] != nil)
            #expect(new["teamgate_open_sockets"] != nil)
            #expect(after.text.contains("# HELP teamgate_sessions_ended_total "))
            for secret in [team.apiKey, team.rohanTokens[0], team.meera.phone.digits, "9999999999", team.meera.id] {
                #expect(!after.text.contains(secret))
            }
        }
        await services.close()
    }

    @Test("with --metrics=false there is no /metrics route")
    func metricsOff() async throws {
        var environment = try TestEnvironment()
        environment.configuration.metrics = false
        let services = try await environment.openServices()
        try await environment.withLiveServer(services) { client in
            let answer = try await client.get("/metrics")
            #expect(answer.status == .notFound)
        }
        await services.close()
    }

    @Test("the log handler: text keeps StreamLogHandler's layout; JSON is one valid object a line, escapes included")
    func logFormats() throws {
        let environment = try TestEnvironment()
        for format in LogFormat.allCases {
            let log = CapturedLog(environment)
            var logger = Logger(label: "teamgate") { TeamGateLogHandler(label: $0, format: format, output: log.output) }
            logger[metadataKey: "hb.request.id"] = "abc123"
            logger.notice("Session index warm", metadata: ["sessions": "3", "note": "a \"quoted\"\nline"])
            logger.info("second")
            logger.debug("not shown")
            let lines = try log.lines()
            try #require(lines.count == 2, "\(lines)")
            switch format {
            case .text:
                #expect(lines[0].wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z notice teamgate: hb\.request\.id=abc123 note=a "quoted"\\nline sessions=3 \[\w+\] Session index warm/) != nil, "\(lines[0])")
            case .json:
                let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: String])
                #expect(first["message"] == "Session index warm")
                #expect(first["level"] == "notice")
                #expect(first["note"] == "a \"quoted\"\nline")
                #expect(first["sessions"] == "3")
                #expect(first["hb.request.id"] == "abc123")
                let second = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: String])
                #expect(second["message"] == "second")
            }
        }
    }

    @Test("Date.iso8601Milliseconds writes UTC to the millisecond, before 1970 too")
    func milliseconds() {
        #expect(Date(timeIntervalSince1970: 1_795_000_000.123_9).iso8601Milliseconds == "2026-11-18T11:06:40.123Z")
        #expect(Date(timeIntervalSince1970: 0).iso8601Milliseconds == "1970-01-01T00:00:00.000Z")
        #expect(Date(timeIntervalSince1970: -0.5).iso8601Milliseconds == "1969-12-31T23:59:59.500Z")
        #expect(AccessLog.milliseconds(1_234_567) == "1.234")
        #expect(AccessLog.milliseconds(5_000) == "0.005")
    }

    @Test("the database check behind /ready and /metrics runs once for callers who ask together, and again only after its age")
    func recentResult() async throws {
        // The age is read on a test clock: however slowly a loaded machine runs the 50 callers, no time passes
        // for the cache until the test moves it.
        let clock = TestClock()
        let runs = Mutex(0)
        let check = RecentResult<Int>(maxAge: 0.3, clock: clock.wallClock) {
            // A slow query: the others arrive while it runs. Cancelled, it answers -1, which the checks would catch.
            do { try await Task.sleep(for: .milliseconds(50)) } catch { return -1 }
            return runs.withLock { runs in
                runs += 1
                return runs
            }
        }
        let answers = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<50 { group.addTask { await check.value() } }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(answers == Array(repeating: 1, count: 50))
        #expect(await check.value() == 1)
        clock.advance(by: 0.35)
        #expect(await check.value() == 2)
    }
}
