import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import TeamGate

@Suite("Error responses")
struct ErrorMiddlewareTests {
    struct DatabaseExploded: Error {
        let detail = "disk I/O error at /var/lib/teamgate/secret-path"
    }

    @Test("an unexpected error is a 500 with a request id and nothing internal")
    func internalError() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let router = try buildRouter(services: services, configuration: environment.configuration)
        router.get("/explode") { _, _ -> Response in throw DatabaseExploded() }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: TestEnvironment.logger)
        try await app.test(.live) { client in
            let response = try await client.get("/explode")
            #expect(response.status == .internalServerError)
            #expect(response.json["message"] as? String == "Internal server error")
            #expect((response.json["requestId"] as? String)?.isEmpty == false)
            #expect(!response.text.contains("secret-path"))
            #expect(!response.text.contains("DatabaseExploded"))
        }
    }
}
