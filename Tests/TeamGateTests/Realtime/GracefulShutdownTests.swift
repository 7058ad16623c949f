import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing
import WSClient

@testable import TeamGate

@Suite("Graceful shutdown")
struct GracefulShutdownTests {
    @Test("a connected device hears server.going_away and is closed with 1001; the store closes last and takes no more writes")
    func shutdown() async throws {
        // setup: the whole service group `teamgate serve` runs, and a device of Meera's connected to it
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        let (ports, portFound) = AsyncStream<Int>.makeStream()
        // The order is what is tested, not the production limits (8 s, then 1 s): with the whole suite running on two
        // cores and PostgreSQL, a step can take longer than that, and the group's cancellation then ends the process.
        let group = try buildServiceGroup(
            configuration: environment.configuration, services: services, logger: TestEnvironment.logger,
            shutdownLimits: (.seconds(120), .seconds(30))
        ) { port in
            portFound.yield(port)
        }
        let received = SessionEventsTests.Received()

        let closeFrame = try await withThrowingTaskGroup(of: WebSocketCloseFrame?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            // act: shut the group down once the device is connected
            let frame = try await WebSocketClient.connect(
                url: "ws://127.0.0.1:\(port)/me/events?token=\(team.meeraTokens[0])", logger: TestEnvironment.logger
            ) { inbound, _, _ in
                for try await message in inbound.messages(maxSize: 1 << 16) {
                    guard case .text(let text) = message else { continue }
                    received.append(text)
                    if text.contains("session.active") { await group.triggerGracefulShutdown() }
                }
            }
            // The group returns: every service stopped.
            while let next = try await tasks.next() { #expect(next == nil) }
            return frame
        }

        // check: the device was told to reconnect, not that its session ended; the session is still live
        #expect(closeFrame?.closeCode == .goingAway)
        #expect(received.contains(#""type":"server.going_away""#))
        #expect(!received.contains("session.ended"))
        // and the store was closed as the group's last step: its writer takes no more writes
        await #expect(throws: GroupCommitWriter.Finished.self) { _ = try await services.store.perform { _ in true } }
        // after a restart, Meera's device signs straight back in: going away ended no session
        let restarted = try await environment.openServices()
        #expect(try await restarted.signIn.currentSession(token: team.meeraTokens[0]).member.id == team.meera.id)
        await restarted.close()
    }
}
