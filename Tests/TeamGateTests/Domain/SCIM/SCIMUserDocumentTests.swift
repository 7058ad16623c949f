import Foundation
import Testing

@testable import TeamGate

@Suite("A directory's user document: the number, the name, what is kept")
struct SCIMUserDocumentTests {
    static func document(_ text: String) throws -> SCIMUserDocument { try SCIMUserDocument(try ExactJSON(parsing: text)) }

    @Test("the mobile number signs in, else the primary, else the first; values are kept exactly as sent")
    func phonePreference() throws {
        let mobile = try Self.document(
            #"{"userName":"a","phoneNumbers":[{"value":"+1 415 555 0100","type":"work","primary":true},{"value":"55555555555","type":"Mobile"}]}"#)
        #expect(mobile.phone.digits == "55555555555")
        #expect(mobile.attributes.text.contains(#""value":"55555555555""#) && mobile.attributes.text.contains(#""+1 415 555 0100""#))
        let primary = try Self.document(#"{"userName":"a","phoneNumbers":[{"value":"+14155550101"},{"value":"tel:+1-415-555-0102","primary":true}]}"#)
        #expect(primary.phone.digits == "14155550102")
        #expect(try Self.document(#"{"userName":"a","phoneNumbers":[{"value":"+14155550103"}]}"#).phone.digits == "14155550103")
    }

    @Test("without a usable number, or without a userName, the user is refused as invalidValue, saying why")
    func refusals() throws {
        for body in [#"{"userName":"a"}"#, #"{"userName":"a","phoneNumbers":[{"value":"call me"}]}"#, #"{"phoneNumbers":[{"value":"+14155550100"}]}"#, #"{"userName":"a","emails":"x","phoneNumbers":[{"value":"+14155550100"}]}"#] {
            #expect(throws: SCIMFailure.self, "\(body)") { try Self.document(body) }
        }
        do {
            _ = try Self.document(#"{"userName":"a","phoneNumbers":[]}"#)
            Issue.record("a user without a number was accepted")
        } catch let error as SCIMFailure {
            #expect(error.kind == .invalidValue && error.detail.contains("mobile"))
        }
    }

    @Test("the name is displayName, else name.formatted, else given and family names, else userName; password, groups and nulls are not kept")
    func nameAndKept() throws {
        let phone = #""phoneNumbers":[{"value":"+14155550100","type":"mobile"}]"#
        #expect(try Self.document(#"{"userName":"u",\#(phone),"displayName":"D","name":{"formatted":"F"}}"#).name.text == "D")
        #expect(try Self.document(#"{"userName":"u",\#(phone),"name":{"givenName":"G","familyName":"H"}}"#).name.text == "G H")
        #expect(try Self.document(#"{"userName":"u",\#(phone)}"#).name.text == "u")
        let kept = try Self.document(
            #"{"schemas":[],"id":"x","userName":"u",\#(phone),"password":"p","groups":[],"roles":[],"addresses":null,"locale":"en-IN","active":"False","meta":{}}"#)
        #expect(kept.attributes.text == #"{"userName":"u",\#(phone),"locale":"en-IN"}"#)
        #expect(kept.active == false)
    }
}
