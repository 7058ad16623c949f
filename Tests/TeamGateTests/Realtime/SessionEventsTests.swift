import Foundation
import HTTPTypes
import HummingbirdTesting
import HummingbirdWSTesting
import NIOCore
import Synchronization
import Testing
import WSClient

@testable import TeamGate

@Suite("Instant kick: GET /me/events")
struct SessionEventsTests {
    /// Text messages a socket received, in order.
    final class Received: Sendable {
        private let messages = Mutex<[String]>([])
        func append(_ text: String) { messages.withLock { $0.append(text) } }
        var all: [String] { messages.withLock { $0 } }
        func contains(_ fragment: String) -> Bool { all.contains { $0.contains(fragment) } }
    }

    static func waitUntil(_ condition: @Sendable () -> Bool) async throws {
        for _ in 0..<200 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
    }

    @Test("a connected device hears session.ended with the 201, acks it, and is closed with 4001; another member's socket stays")
    func kick() async throws {
        // setup
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let meera = Received()
        let rohan = Received()
        let (stopSignal, stopRohan) = AsyncStream<Void>.makeStream()
        try await environment.withLiveServer(services) { client in
            async let meeraClose = client.ws("/me/events?token=\(team.meeraTokens[0])") { inbound, outbound, _ in
                for try await message in inbound.messages(maxSize: 1 << 16) {
                    guard case .text(let text) = message else { continue }
                    meera.append(text)
                    if text.contains("session.ended"),
                        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                        let revocation = object["revocationId"] as? String
                    {
                        try await outbound.writeTextMessage(#"{"type":"ack","revocationId":"\#(revocation)"}"#)
                    }
                }
            }
            // The bystander reads every message until the test stops it, so anything sent to it is seen.
            async let rohanClose = client.ws("/me/events?token=\(team.rohanTokens[0])") { inbound, outbound, _ in
                async let stopped: Void = {
                    for await _ in stopSignal { break }
                    try await outbound.close(.normalClosure, reason: nil)
                }()
                for try await message in inbound.messages(maxSize: 1 << 16) {
                    if case .text(let text) = message { rohan.append(text) }
                }
                try await stopped
            }
            try await Self.waitUntil { meera.contains("session.active") && rohan.contains("session.active") }
            let active = try #require(meera.all.first)
            let connectedID = try #require((try JSONSerialization.jsonObject(with: Data(active.utf8)) as? [String: Any])?["sessionId"] as? String)
            #expect(active.contains(#""type":"session.active""#))

            // act
            let logout = try await client.logout(phone: team.meera.phone.e164, key: team.apiKey)
            #expect(logout.status == .created)
            let revocationID = try #require(logout.json["revocationId"] as? String)

            // check: the event is there at once, not at the device's next request
            try await Self.waitUntil { meera.contains("session.ended") }
            let ended = try #require(meera.all.first { $0.contains("session.ended") })
            let event = try #require(try JSONSerialization.jsonObject(with: Data(ended.utf8)) as? [String: Any])
            #expect(event["reason"] as? String == "admin_logout")
            #expect(event["revocationId"] as? String == revocationID)
            #expect(event["message"] as? String == SessionEndReason.adminLogout.explanation)
            #expect((event["endedAt"] as? String).flatMap { try? Date($0, strategy: .iso8601) } != nil)
            let close = try await meeraClose
            #expect(close?.closeCode == .unknown(4001))

            // Anything meant for Meera alone would have reached Rohan by now; listen a while longer to be sure.
            try await Task.sleep(for: .milliseconds(300))
            stopRohan.yield()
            let rohanClosed = try await rohanClose
            #expect(rohanClosed?.closeCode == .normalClosure)
            #expect(rohan.all.count == 1, "the bystander heard: \(rohan.all)")
            #expect(rohan.all.first?.contains(#""type":"session.active""#) == true)
            #expect(try await client.get("/me", bearer: team.rohanTokens[0]).status == .ok)

            let record = try await client.admin(.get, "/revocations/\(revocationID)", key: team.apiKey)
            #expect(record.status == .ok)
            let sessions = record.json["sessions"] as? [[String: Any]] ?? []
            #expect(sessions.count == 2)
            let connected = try #require(sessions.first { $0["sessionId"] as? String == connectedID })
            #expect(connected["endedAt"] is String && connected["notifiedAt"] is String && connected["acknowledgedAt"] is String)
            let offline = try #require(sessions.first { $0["sessionId"] as? String != connected["sessionId"] as? String })
            #expect(offline["notifiedAt"] == nil)
        }
    }

    @Test("a socket for an ended session is refused at upgrade with 401 and why; so is the same URL without an upgrade")
    func refusedAfterLogout() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            #expect(try await client.logout(phone: team.meera.phone.e164, key: team.apiKey).status == .created)
            let received = Received()
            let attempt = try? await client.ws("/me/events?token=\(team.meeraTokens[0])") { inbound, _, _ in
                for try await message in inbound.messages(maxSize: 1 << 16) {
                    if case .text(let text) = message { received.append(text) }
                }
            }
            #expect(attempt == nil)
            #expect(received.all.isEmpty)
            // The refusal itself, as a raw upgrade request sees it: 401 with the reason, not the library's empty 400.
            let port = try #require(client.port)
            let answer = try await RawHTTP.exchange(
                port: port,
                """
                GET /me/events?token=\(team.meeraTokens[0]) HTTP/1.1\r
                Host: localhost\r
                Upgrade: websocket\r
                Connection: Upgrade\r
                Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
                Sec-WebSocket-Version: 13\r
                \r

                """)
            #expect(answer.hasPrefix("HTTP/1.1 401"))
            #expect(answer.contains(#""reason":"admin_logout""#))
            let refused = try await client.get("/me/events?token=\(team.meeraTokens[0])")
            #expect(refused.status == .unauthorized)
            #expect(refused.json["reason"] as? String == "admin_logout")
            #expect(try await client.get("/me/events").json["reason"] as? String == "missing_token")
            #expect(try await client.admin(.get, "/revocations/rev_unknown", key: team.apiKey).status == .notFound)
        }
    }
}
