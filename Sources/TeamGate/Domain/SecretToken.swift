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

    /// Base64url without padding, encoded directly: Foundation's base64 and three `replacingOccurrences`
    /// took a twentieth of a logout's time in profiles (every logout makes a revocation id).
    static func base64URL(_ bytes: [UInt8]) -> String {
        let alphabet = base64URLAlphabet
        let length = (bytes.count * 8 + 5) / 6
        return String(unsafeUninitializedCapacity: length) { output in
            var position = 0
            var index = 0
            while index < bytes.count {
                let chunk = bytes[index..<min(index + 3, bytes.count)]
                var group: UInt32 = 0
                for byte in chunk { group = group << 8 | UInt32(byte) }
                group <<= UInt32(8 * (3 - chunk.count))
                for sextet in 0..<(chunk.count + 1) {
                    output[position] = alphabet[Int(group >> UInt32(18 - 6 * sextet) & 0x3F)]
                    position += 1
                }
                index += 3
            }
            return position
        }
    }

    private static let base64URLAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
}
