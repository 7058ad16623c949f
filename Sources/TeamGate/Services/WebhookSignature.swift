import Crypto
import Foundation

/// HMAC-SHA256 signatures on the bodies TeamGate posts to other systems.
public enum WebhookSignature {
    public static func hex(body: Data, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return mac.map { String(format: "%02x", $0) }.joined()
    }
}
