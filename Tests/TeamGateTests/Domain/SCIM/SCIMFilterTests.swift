import Foundation
import Testing

@testable import TeamGate

@Suite("SCIM filters (RFC 7644 §3.4.2.2)")
struct SCIMFilterTests {
    static let user: ExactJSON = {
        do {
            return try ExactJSON(
                parsing: #"""
                    {"id":"mem_1","externalId":"Ext-1","userName":"Ann@Example.com","active":true,"name":{"givenName":"Ann","familyName":"Lee"},
                     "emails":[{"value":"ann@example.com","type":"work","primary":true},{"value":"ann@home.test","type":"home"}],
                     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales"},
                     "meta":{"lastModified":"2026-12-03T10:00:00Z"}}
                    """#)
        } catch {
            Issue.record("the fixture is JSON: \(error)")
            return .null
        }
    }()

    @Test(
        "filters as Entra ID, Okta and the RFC write them match as SCIM says",
        arguments: [
            (#"userName eq "ann@example.com""#, true),  // userName is not case-exact
            (#"USERNAME EQ "ANN@EXAMPLE.COM""#, true),
            (#"externalId eq "ext-1""#, false),  // externalId is
            (#"id eq "mem_1" and active eq true"#, true),
            (#"name.givenName sw "An" and not (name.familyName eq "Lee")"#, false),
            (#"emails[type eq "work" and value co "example"]"#, true),
            (#"emails.value ew "home.test""#, true),
            (#"emails eq "ann@home.test""#, true),
            (#"title pr"#, false),
            (#"(userName eq "x" or name.familyName eq "lee") and emails pr"#, true),
            (#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "sales""#, true),
            (#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "ann@example.com""#, true),
            (#"meta.lastModified gt "2026-12-01T00:00:00Z""#, true),
            (#"active eq "False""#, false),
            (#"userName ne "ann@example.com""#, false),
        ]
    )
    func matches(filter: String, expected: Bool) throws {
        #expect(try SCIMFilter(parsing: filter).matches(Self.user) == expected, "\(filter)")
    }

    @Test(
        "what is no filter is refused with a reason",
        arguments: [#"userName eq"#, #"userName equals "a""#, #"(userName eq "a""#, #"emails[type eq "work""#, #"userName eq "open"#, "not userName eq \"a\"", "", #"userName eq "a" and"#]
    )
    func refused(filter: String) {
        #expect(throws: SCIMSyntaxError.self) { try SCIMFilter(parsing: filter) }
    }

    @Test("an equality on userName, externalId or id is named for an index, alone or within an and")
    func indexedEquality() throws {
        #expect(try SCIMFilter(parsing: #"userName eq "a""#).indexedEquality?.attribute == "username")
        #expect(try SCIMFilter(parsing: #"active eq true and externalId eq "x""#).indexedEquality?.value == "x")
        #expect(try SCIMFilter(parsing: #"userName eq "a" or id eq "b""#).indexedEquality == nil)
        #expect(try SCIMFilter(parsing: #"userName co "a""#).indexedEquality == nil)
    }

    @Test("a filter past the bounds of length or clauses is refused")
    func bounds() {
        let many = Array(repeating: #"userName eq "a""#, count: SCIMFilter.maximumClauses + 1).joined(separator: " or ")
        #expect(throws: SCIMSyntaxError.self) { try SCIMFilter(parsing: many) }
        #expect(throws: SCIMSyntaxError.self) { try SCIMFilter(parsing: String(repeating: " ", count: SCIMFilter.maximumLength + 1)) }
    }
}
