import Foundation
import Testing

@testable import TeamGate

@Suite("Hand-written JSON")
struct JSONTextTests {
    @Test("strings with quotes, backslashes, control characters and non-ASCII read back unchanged", arguments: [
        "Meera Iyer", #"Say "hi" \ bye"#, "line\nbreak\ttab\r", "\u{0}\u{1}\u{1f}", "मीरा अय्यर 👩‍💼", "",
    ])
    func roundTrip(text: String) throws {
        let json = "[" + JSONText.string(text) + "]"
        let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String]
        #expect(parsed == [text])
    }
}
