import Foundation
import HTTPTypes

/// Reading secrets from request headers.
enum Credentials {
    /// The organisation's API key: `x-public-key: <key>` as the seed shows, or `Authorization: <key>`,
    /// `key <key>` or `Bearer <key>` as DoubleTick's own clients send it.
    static func apiKey(in headers: HTTPFields) -> String? {
        if let key = headers[.publicKey]?.trimmingCharacters(in: .whitespaces), !key.isEmpty { return key }
        guard let authorization = headers[.authorization]?.trimmingCharacters(in: .whitespaces), !authorization.isEmpty else {
            return nil
        }
        for scheme in ["bearer ", "key "] where authorization.lowercased().hasPrefix(scheme) {
            let key = authorization.dropFirst(scheme.count).trimmingCharacters(in: .whitespaces)
            return key.isEmpty ? nil : key
        }
        return authorization
    }

    /// A member's session token: `Authorization: Bearer <token>`.
    static func sessionToken(in headers: HTTPFields) -> String? {
        guard let authorization = headers[.authorization]?.trimmingCharacters(in: .whitespaces),
            authorization.lowercased().hasPrefix("bearer ")
        else { return nil }
        let token = authorization.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}

extension HTTPField.Name {
    static let publicKey = HTTPField.Name("x-public-key")!
}
