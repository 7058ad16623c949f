import Foundation

/// A refusal in OAuth 2.0's own shape (RFC 6749 §5.2): an error code and a sentence, with its status. `invalid_client`
/// is 401; the token endpoint's other refusals are 400.
public struct OAuthError: Error, Equatable, Sendable {
    public let code: String
    public let description: String
    public let status: Int

    static func invalidRequest(_ description: String) -> OAuthError { OAuthError(code: "invalid_request", description: description, status: 400) }
    static func invalidGrant(_ description: String) -> OAuthError { OAuthError(code: "invalid_grant", description: description, status: 400) }
    static let invalidClient = OAuthError(code: "invalid_client", description: "Unknown app or wrong app secret.", status: 401)
    static func unsupportedGrantType(_ type: String) -> OAuthError {
        OAuthError(code: "unsupported_grant_type", description: "grant_type must be authorization_code or refresh_token, not \(type)", status: 400)
    }
    static let invalidToken = OAuthError(code: "invalid_token", description: "The access token is unknown, expired or its session ended.", status: 401)
}

/// How an app proved who it is at the token, introspection or revocation endpoint.
public enum ClientCredentials: Sendable, Equatable {
    /// `client_secret_basic` or `client_secret_post`.
    case secret(clientID: String, secret: String)
    /// `none`: a public client names itself and proves the code with PKCE.
    case publicClient(clientID: String)
}

/// The scopes TeamGate grants; others asked for are left out of the grant, as OAuth allows.
public enum OIDCScope: String, CaseIterable, Sendable {
    case openid, profile, phone
    case offlineAccess = "offline_access"

    /// The supported scopes of a space-separated request, in the order of `allCases`.
    static func granted(from requested: String) -> [OIDCScope] {
        let asked = Set(requested.split(separator: " ").map(String.init))
        return allCases.filter { asked.contains($0.rawValue) }
    }

    static func text(_ scopes: [OIDCScope]) -> String { scopes.map(\.rawValue).joined(separator: " ") }
}
