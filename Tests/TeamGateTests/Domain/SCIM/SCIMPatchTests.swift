import Foundation
import Testing

@testable import TeamGate

@Suite("SCIM PATCH as Entra ID, Okta and RFC 7644 send it")
struct SCIMPatchTests {
    static func apply(_ operations: String, to resource: String) throws -> ExactJSON {
        let patch = try SCIMPatch(body: try ExactJSON(parsing: #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":"# + operations + "}"))
        return try patch.applied(to: try ExactJSON(parsing: resource))
    }

    static let user = #"{"userName":"ann","active":true,"name":{"givenName":"Ann"},"emails":[{"value":"a@work.test","type":"work"}]}"#

    @Test("Entra ID's capitalised op with a string boolean, and the RFC's form, both set active")
    func entraActive() throws {
        let entra = try Self.apply(#"[{"op":"Replace","path":"active","value":"False"}]"#, to: Self.user)
        #expect(entra.member(named: "active")?.lenientBool == false)
        let rfc = try Self.apply(#"[{"op":"replace","path":"active","value":false}]"#, to: Self.user)
        #expect(rfc.member(named: "active")?.lenientBool == false)
        // Okta's pathless form
        let okta = try Self.apply(#"[{"op":"replace","value":{"active":false}}]"#, to: Self.user)
        #expect(okta.member(named: "active")?.lenientBool == false)
    }

    @Test("a pathless replace with dotted keys sets sub-attributes; Add on a single-valued attribute replaces it")
    func dottedAndAdd() throws {
        let patched = try Self.apply(
            #"[{"op":"Replace","value":{"name.givenName":"Annie","name.familyName":"Lee"}},{"op":"Add","path":"displayName","value":"Annie Lee"},{"op":"Add","path":"displayName","value":"A. Lee"}]"#,
            to: Self.user)
        #expect(patched.member(named: "name")?.text == #"{"givenName":"Annie","familyName":"Lee"}"#)
        #expect(patched.member(named: "displayName")?.string == "A. Lee")
    }

    @Test("a value-filtered path replaces the matching item's value, or makes the item when none matches")
    func valueFilter() throws {
        let replaced = try Self.apply(#"[{"op":"replace","path":"emails[type eq \"work\"].value","value":"b@work.test"}]"#, to: Self.user)
        #expect(replaced.member(named: "emails")?.text == #"[{"value":"b@work.test","type":"work"}]"#)
        let added = try Self.apply(#"[{"op":"Add","path":"emails[type eq \"home\"].value","value":"a@home.test"}]"#, to: Self.user)
        #expect(added.member(named: "emails")?.array?.count == 2)
        let removed = try Self.apply(#"[{"op":"remove","path":"emails[type eq \"work\"]"}]"#, to: Self.user)
        #expect(removed.member(named: "emails") == nil)
    }

    @Test("add appends to a multi-valued attribute without duplicates; an extension's attributes are set under its schema")
    func multiValuedAndExtension() throws {
        let patched = try Self.apply(
            #"""
            [{"op":"add","path":"emails","value":[{"value":"a@work.test","type":"work"},{"value":"c@other.test","type":"other"}]},
             {"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Sales"},
             {"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"costCenter":"42"}}}]
            """#, to: Self.user)
        #expect(patched.member(named: "emails")?.array?.count == 2)
        #expect(patched.member(named: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")?.text == #"{"department":"Sales","costCenter":"42"}"#)
        // the extension's URI as the path: its object, merged by add and replace, dropped by remove
        let urn = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        let merged = try Self.apply(#"[{"op":"replace","path":"\#(urn)","value":{"employeeNumber":"43"}}]"#, to: patched.text)
        #expect(merged.member(named: urn)?.text == #"{"department":"Sales","costCenter":"42","employeeNumber":"43"}"#)
        #expect(try Self.apply(#"[{"op":"remove","path":"\#(urn)"}]"#, to: patched.text).member(named: urn) == nil)
    }

    @Test(
        "what cannot be applied is refused with SCIM's error type",
        arguments: [
            (#"{"Operations":[{"op":"remove"}]}"#, SCIMFailure.Kind.noTarget),
            (#"{"Operations":[{"op":"move","path":"a"}]}"#, .invalidSyntax),
            (#"{"Operations":[{"op":"replace","path":"emails[type eq]","value":1}]}"#, .invalidPath),
            (#"{"Operations":[{"op":"replace","value":"x"}]}"#, .invalidValue),
            (#"{"ops":[]}"#, .invalidSyntax),
            (#"{"Operations":[{"op":"replace","path":"id","value":"x"}]}"#, .mutability),
            (#"{"Operations":[{"op":"replace","path":"emails[type eq \"home\" or type eq \"x\"].value","value":"a"}]}"#, .noTarget),
            (#"{"Operations":[{"op":"replace","path":"emails[type eq \"home\"].value","value":"a"}]}"#, .noTarget),
            (#"{"Operations":[{"op":"remove","path":"active"}]}"#, .mutability),
        ]
    )
    func refusals(body: String, kind: SCIMFailure.Kind) throws {
        let parsed = try ExactJSON(parsing: body)
        do {
            let patch = try SCIMPatch(body: parsed)
            _ = try patch.applied(to: try ExactJSON(parsing: Self.user))
            Issue.record("\(body) was applied")
        } catch let error as SCIMFailure {
            #expect(error.kind == kind, "\(body): \(error.detail)")
        }
    }
}
