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

    @Test("dates are written as Foundation's ISO 8601 writes them, from 1970 to 2100, leap days and the ends of days included")
    func iso8601() {
        var generator = SystemRandomNumberGenerator()
        var dates = [0, 951_782_400, 951_868_799, 4_107_542_399, 1_790_000_000.999].map { Date(timeIntervalSince1970: $0) }
        for _ in 0..<2_000 { dates.append(Date(timeIntervalSince1970: Double.random(in: 0..<4_102_444_800, using: &generator))) }
        for date in dates {
            #expect(date.iso8601Seconds == date.formatted(.iso8601), "\(date.timeIntervalSince1970)")
        }
    }
}
