import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import TeamGate

/// The console's team, audit and member pages read a page at a time, with next and previous links.
@Suite("The console's pages, paged")
struct ConsolePagingTests {
    /// The link with this `rel` on the page, unescaped.
    static func href(_ page: TestResponse, rel: String) -> String? {
        let marker = "\" rel=\"\(rel)\""
        guard let end = page.text.range(of: marker) else { return nil }
        guard let start = page.text[..<end.lowerBound].range(of: "<a href=\"", options: .backwards) else { return nil }
        return String(page.text[start.upperBound..<end.lowerBound]).replacingOccurrences(of: "&amp;", with: "&")
    }

    @Test("a team of 123 shows 50 members a page; Next and Previous walk it; a search by number is one lookup")
    func teamPages() async throws {
        // setup
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        for index in 0..<120 {
            _ = try await services.directory.addMember(
                organizationID: team.organization.id, name: try MemberName(parsing: "Member \(index)"), phone: try PhoneNumber(parsing: "+9194\(String(format: "%08d", index))"))
        }
        try await environment.withLiveServer(services) { client in
            let session = try await SecurityRouteTests.consoleSession(client, environment, team.owner.phone)
            func get(_ uri: String) async throws -> TestResponse {
                try await client.execute(uri: uri, method: .get, headers: [.cookie: session.cookie])
            }
            func rows(_ page: TestResponse) -> Int { page.text.components(separatedBy: "<tr data-member=").count - 1 }
            // act and check
            let first = try await get("/console/team")
            #expect(rows(first) == 50 && Self.href(first, rel: "prev") == nil)
            let second = try await get(try #require(Self.href(first, rel: "next")))
            #expect(rows(second) == 50)
            let third = try await get(try #require(Self.href(second, rel: "next")))
            #expect(rows(third) == 23 && Self.href(third, rel: "next") == nil)
            let back = try await get(try #require(Self.href(third, rel: "prev")))
            #expect(back.text == second.text || rows(back) == 50)
            let backToFirst = try await get(try #require(Self.href(back, rel: "prev")))
            #expect(rows(backToFirst) == 50 && Self.href(backToFirst, rel: "prev") == nil)
            let byNumber = try await get("/console/team?q=%2B919400000007")
            #expect(rows(byNumber) == 1 && byNumber.text.contains("Member 7"))
            let byName = try await get("/console/team?q=Member%2011")
            #expect(byName.text.contains(">Member 11<") && byName.text.contains(">Member 119<") && !byName.text.contains(">Member 12<"))
        }
    }

    @Test("the audit log shows 25 events a page with Next and Previous, and names only the page's actors")
    func auditPages() async throws {
        // setup: 30 logouts by the Owner, each audited with the Owner as actor
        let environment = try TestEnvironment()
        let services = try await environment.openServices()
        let team = try await SeededTeam.make(services)
        try await environment.withLiveServer(services) { client in
            let session = try await SecurityRouteTests.consoleSession(client, environment, team.owner.phone)
            for _ in 0..<30 { _ = try await SecurityRouteTests.post(client, "/console/members/\(team.rohan.id)/logout", session) }
            func get(_ uri: String) async throws -> TestResponse {
                try await client.execute(uri: uri, method: .get, headers: [.cookie: session.cookie])
            }
            // act and check
            let first = try await get("/console/audit?action=member.logged_out")
            #expect(first.text.components(separatedBy: "<code>member.logged_out</code>").count - 1 == 25)
            #expect(first.text.contains("Asha Rao"))
            let second = try await get(try #require(Self.href(first, rel: "next")))
            #expect(second.text.components(separatedBy: "<code>member.logged_out</code>").count - 1 == 5)
            #expect(Self.href(second, rel: "next") == nil)
            let back = try await get(try #require(Self.href(second, rel: "prev")))
            #expect(back.text.components(separatedBy: "<code>member.logged_out</code>").count - 1 == 25)
        }
    }
}
