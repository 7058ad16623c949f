/// A phone number in E.164 form: a country code and subscriber number, 7–15 digits, no leading zero.
///
/// Members sign in with it and admins name them by it, typed in whatever way people write numbers:
/// `+91 93XX-XXXXXX`, `919999999999`, `(+1) 415 555 0100`. Only the digits count, so two spellings
/// of one number are equal.
public struct PhoneNumber: Hashable, Sendable, CustomStringConvertible {
    /// The digits, country code first, without `+`.
    public let digits: String

    public static let minimumDigits = 7
    public static let maximumDigits = 15
    /// Longest text accepted, separators included: a bound for what a request can make us scan.
    public static let maximumLength = 40

    /// Parses a typed number. Separators people use (space, `-`, `.`, brackets) are dropped; a single `+`
    /// may come before the first digit. Anything else (letters, control or direction marks) is refused.
    /// The number in `text`, or nil when it is none (for a door that words its own refusal).
    public init?(validating text: String) {
        do {
            self = try PhoneNumber(parsing: text)
        } catch {
            return nil
        }
    }

    public init(parsing text: String) throws(PhoneNumberError) {
        guard text.unicodeScalars.count <= Self.maximumLength else { throw .tooLong }
        var digits = ""
        var sawPlus = false
        for scalar in text.unicodeScalars {
            switch scalar {
            case "0"..."9":
                digits.unicodeScalars.append(scalar)
            case "+":
                guard !sawPlus, digits.isEmpty else { throw .malformed }
                sawPlus = true
            case " ", "-", ".", "(", ")":
                continue
            default:
                throw .malformed
            }
        }
        guard !digits.isEmpty else { throw .empty }
        guard digits.count >= Self.minimumDigits else { throw .tooShort }
        guard digits.count <= Self.maximumDigits else { throw .tooLong }
        guard digits.first != "0" else { throw .invalidCountryCode }
        self.digits = digits
    }

    /// Wraps digits already known to be valid, as read back from storage.
    public init(trustedDigits: String) {
        self.digits = trustedDigits
    }

    /// `+` and the digits: the form shown to people and sent to SMS gateways.
    public var e164: String { "+" + digits }

    public var description: String { e164 }
}

/// Why a text is not a phone number.
public enum PhoneNumberError: Error, Equatable, Sendable {
    case empty
    case malformed
    case tooShort
    case tooLong
    case invalidCountryCode
}
