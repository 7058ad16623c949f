import Foundation
import Testing

@testable import TeamGate

@Suite("ExactJSON: a value written back exactly as it was read")
struct ExactJSONTests {
    @Test(
        "numbers, strings, key order and escapes survive a round trip",
        arguments: [
            #"{"b":1,"a":[true,false,null],"n":55555555555,"f":1.50,"e":-2E+3}"#,
            #"{"s":"line\nbreak \"quoted\" \\ é ☎ \ud83d\ude00"}"#,
            #"[]"#, #"{}"#, #""text""#,
        ]
    )
    func roundTrip(text: String) throws {
        // act
        let value = try ExactJSON(parsing: text)
        // check: parsing what it writes gives the same value, and numbers keep their text
        #expect(try ExactJSON(parsing: value.text) == value)
        if text.contains("1.50") { #expect(value.text.contains("1.50") && value.text.contains("55555555555") && value.text.contains("-2E+3")) }
    }

    @Test(
        "what is not JSON is refused with where it went wrong",
        arguments: [#"{"a":}"#, #"{"a":1,}"#, "[1 2]", #"{"a":01}"#, "\"open", "tru", #"{"a":1} x"#, "", #""\ud800""#]
    )
    func refused(text: String) {
        #expect(throws: ExactJSONError.self) { try ExactJSON(parsing: text) }
    }

    @Test("nesting deeper than the bound is refused, not recursed into")
    func deepNesting() {
        let deep = String(repeating: "[", count: ExactJSON.maximumDepth + 2) + String(repeating: "]", count: ExactJSON.maximumDepth + 2)
        #expect(throws: ExactJSONError.self) { try ExactJSON(parsing: deep) }
    }

    @Test("members are found and set without regard to case, keeping the spelling sent")
    func caseInsensitiveMembers() throws {
        let value = try ExactJSON(parsing: #"{"userName":"a","Active":true}"#)
        #expect(value.member(named: "USERNAME")?.string == "a")
        #expect(value.setting("active", to: .bool(false)).text == #"{"userName":"a","Active":false}"#)
        #expect(value.removing("username").text == #"{"Active":true}"#)
        #expect(ExactJSON.string("False").lenientBool == false && ExactJSON.string("TRUE").lenientBool == true && ExactJSON.string("no").lenientBool == nil)
    }
}
