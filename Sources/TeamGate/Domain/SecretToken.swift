import Crypto
import Foundation

/// Random secrets (API keys, session tokens, sign-in codes) and the hashes they are stored as.
public enum SecretToken {
    /// `prefix` followed by `byteCount` random bytes in base64url, e.g. `key_3vQ…`.
    public static func make(prefix: String, byteCount: Int = 32) -> String {
        // Eight bytes per draw: each draw from the system generator is a system call.
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(byteCount + 7)
        while bytes.count < byteCount {
            withUnsafeBytes(of: generator.next() as UInt64) { bytes.append(contentsOf: $0) }
        }
        return prefix + base64URL(Array(bytes.prefix(byteCount)))
    }

    /// An identifier that is unique, not secret: `org_…`, `ses_…`.
    public static func identifier(prefix: String) -> String {
        make(prefix: prefix, byteCount: 12)
    }

    /// A six-digit sign-in code, uniformly drawn.
    public static func oneTimeCode() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = Int.random(in: 0..<1_000_000, using: &generator)
        let digits = String(value)
        return String(repeating: "0", count: 6 - digits.count) + digits
    }

    /// SHA-256 of the secret. Lookups compare these with an indexed equality, so no comparison ever
    /// depends on the secret itself, and a leaked database does not hand out working keys.
    public static func hash(_ secret: String) -> Data {
        Data(SHA256.hash(data: Data(secret.utf8)))
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
