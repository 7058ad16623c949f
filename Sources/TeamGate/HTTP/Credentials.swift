import Foundation
import HTTPTypes

/// Reading secrets from request headers.
enum Credentials {
    /// The organisation's API key: `x-public-key: <key>` as the seed shows, or `Authorization: <key>`,
    /// `key <key>` or `Bearer <key>` as DoubleTick's own clients send it.
    static func apiKey(in headers: HTTPFields) -> String? {
        if let key = headers[.publicKey]?.trimmedOfWhitespace, !key.isEmpty { return key }
        guard let authorization = headers[.authorization]?.trimmedOfWhitespace, !authorization.isEmpty else {
            return nil
        }
        for scheme in ["bearer ", "key "] where hasPrefix(authorization, ignoringCase: scheme) {
            let key = authorization.dropFirst(scheme.count).trimmedOfWhitespace
            return key.isEmpty ? nil : key
        }
        return authorization
    }

    /// A member's session token: `Authorization: Bearer <token>`.
    static func sessionToken(in headers: HTTPFields) -> String? { bearerToken(in: headers) }

    /// A bearer token (RFC 6750): a member's session, the directory's provisioning token.
    static func bearerToken(in headers: HTTPFields) -> String? {
        guard let authorization = headers[.authorization]?.trimmedOfWhitespace, hasPrefix(authorization, ignoringCase: "bearer ") else { return nil }
        let token = authorization.dropFirst("bearer ".count).trimmedOfWhitespace
        return token.isEmpty ? nil : token
    }

    /// Whether `text` starts with the lowercase ASCII `prefix`, in any case.
    private static func hasPrefix(_ text: String, ignoringCase prefix: String) -> Bool {
        text.utf8.count >= prefix.utf8.count
            && zip(text.utf8, prefix.utf8).allSatisfy { byte, wanted in byte == wanted || (byte | 0x20) == wanted && wanted >= 0x61 && wanted <= 0x7A }
    }
}

extension StringProtocol where UTF8View: BidirectionalCollection {
    /// The text without surrounding spaces or tabs. Header values rarely have any: that is checked on the
    /// bytes, and Foundation's trimming (which showed in logout profiles) runs only when there is some.
    var trimmedOfWhitespace: String {
        guard let first = utf8.first, let last = utf8.last, first > 0x20, first < 0x80, last > 0x20, last < 0x80 else {
            return trimmingCharacters(in: .whitespaces)
        }
        return String(self)
    }
}

extension HTTPField.Name {
    static let publicKey = HTTPField.Name("x-public-key")!
}
