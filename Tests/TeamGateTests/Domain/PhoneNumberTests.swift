import Testing

@testable import TeamGate

@Suite("PhoneNumber")
struct PhoneNumberTests {
    @Test(
        "accepts the ways people write numbers and keeps only the digits",
        arguments: [
            ("+91 9355-555555", "919355555555"),
            ("919999999999", "919999999999"),
            ("(+1) 415 555 0100", "14155550100"),
            ("+44 20 7946.0958", "442079460958"),
            ("+1234567", "1234567"),
            ("123456789012345", "123456789012345"),
            ("  +91-93000-00001 ", "919300000001"),
        ]
    )
    func accepted(text: String, digits: String) throws {
        let phone = try PhoneNumber(parsing: text)
        #expect(phone.digits == digits)
        #expect(phone.e164 == "+" + digits)
    }

    @Test(
        "refuses what is not a phone number, saying why",
        arguments: [
            ("", PhoneNumberError.empty),
            ("   ", .empty),
            ("+", .empty),
            ("+91 93XX-XXXXXX", .malformed),
            ("call me", .malformed),
            ("+91\u{0}9300000001", .malformed),
            ("+91\u{200F}9300000001", .malformed),
            ("91+9300000001", .malformed),
            ("++919300000001", .malformed),
            ("123456", .tooShort),
            ("1234567890123456", .tooLong),
            ("+91 " + String(repeating: " ", count: 40) + "9300000001", .tooLong),
            ("0919300000001", .invalidCountryCode),
            ("+0 415 555 0100", .invalidCountryCode),
        ]
    )
    func rejected(text: String, error: PhoneNumberError) {
        #expect(throws: error) { try PhoneNumber(parsing: text) }
    }

    @Test("two spellings of one number are equal")
    func equality() throws {
        #expect(try PhoneNumber(parsing: "+91 93000 00001") == PhoneNumber(parsing: "919300000001"))
    }
}
