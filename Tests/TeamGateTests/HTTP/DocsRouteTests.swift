import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import TeamGate

@Suite("The contract and the reference page")
struct DocsRouteTests {
    @Test("/openapi.json lists every operation the server has, with the logout call's four statuses")
    func openAPIDocument() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        try await environment.withLiveServer(services) { client in
            let response = try await client.get("/openapi.json")
            #expect(response.status == .ok)
            let paths = try #require(response.json["paths"] as? [String: [String: Any]])
            #expect(
                Set(paths.keys) == [
                    "/team-member/logout", "/auth/otp", "/auth/login", "/me", "/me/sessions", "/auth/logout", "/health", "/ready", "/metrics", "/team", "/team/member", "/team/members",
                    "/team-member", "/team-member/role", "/roles", "/team-member/sessions", "/team-member/sessions/end", "/team-member/unlock",
                    "/team/logout-all", "/audit-events", "/webhooks", "/webhooks/{id}", "/webhooks/{id}/deliveries", "/revocations/{id}",
                    "/api-keys", "/oidc/clients", "/oidc/clients/{clientId}",
                ])
            let logout = try #require(paths["/team-member/logout"]?["post"] as? [String: Any])
            #expect(logout["operationId"] as? String == "logout-team-member")
            let statuses = Set((logout["responses"] as? [String: Any] ?? [:]).keys)
            #expect(statuses.isSuperset(of: ["201", "400", "401", "422"]))
        }
    }

    @Test("the page is served for /docs and each operation, self-contained, and 404 for an unknown operation")
    func page() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        try await environment.withLiveServer(services) { client in
            for uri in ["/docs", "/docs/reference/logout-team-member"] {
                let response = try await client.get(uri)
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(response.headers[.contentSecurityPolicy]?.contains("default-src 'self'") == true)
                #expect(response.text.contains("Try It"))
                #expect(!response.text.contains("https://"))
            }
            #expect(try await client.get("/docs/reference/no-such-operation").status == .notFound)
            let script = try await client.get("/docs/assets/reference.js")
            #expect(script.status == .ok)
            #expect(script.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(try await client.get("/docs/assets/../../openapi.json").status == .notFound)
        }
    }

    @Test("the member's page /app and /sdk/teamgate.js are served self-contained; an unknown asset is 404")
    func memberPage() async throws {
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        try await environment.withLiveServer(services) { client in
            let page = try await client.get("/app")
            #expect(page.status == .ok)
            #expect(page.headers[.contentSecurityPolicy]?.contains("default-src 'self'") == true)
            #expect(page.text.contains(#"<script src="/sdk/teamgate.js""#) && page.text.contains("aria-live"))
            #expect(!page.text.contains("https://"))
            for (uri, type) in [("/app/assets/app.js", "text/javascript"), ("/app/assets/app.css", "text/css"), ("/sdk/teamgate.js", "text/javascript")] {
                let asset = try await client.get(uri)
                #expect(asset.status == .ok)
                #expect(asset.headers[.contentType] == "\(type); charset=utf-8")
            }
            #expect(try await client.get("/sdk/teamgate.js").text.contains("class Watcher"))
            #expect(try await client.get("/app/assets/teamgate.js").status == .notFound)
        }
        await services.close()
    }
}
