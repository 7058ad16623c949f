import Crypto
import Foundation

/// An authorization request (OpenID Connect Core §3.1.2.1), as its query or form names it.
public struct AuthorizationRequest: Sendable, Equatable {
    public static let parameterNames = [
        "response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge", "code_challenge_method", "prompt",
    ]

    /// The request's own parameters, carried through the sign-in page's form unchanged.
    public let parameters: [String: String]

    public init(parameters: [String: String]) {
        self.parameters = parameters.filter { Self.parameterNames.contains($0.key) }
    }

    var clientID: String { parameters["client_id"] ?? "" }
    var redirectURI: String { parameters["redirect_uri"] ?? "" }
    var state: String? { parameters["state"] }
    var codeChallenge: String? { parameters["code_challenge"].flatMap { $0.isEmpty ? nil : $0 } }
}

/// Why an authorization request goes no further: a page of TeamGate's own, or an error sent back to the app.
public enum AuthorizationRefusal: Error, Equatable, Sendable {
    /// The app or its redirect URI is unknown: the browser is never sent there.
    case page(String)
    /// The app is known and its URI registered: the error goes back to it (`error`, `state`, `iss`).
    case redirect(String)
}

extension OIDCProvider {
    /// The app that makes the request, once every rule of the request holds: a known app, a registered redirect URI
    /// (exactly), the code flow, `openid`, and PKCE S256 when sent (always, for a public app).
    /// The app is read through the provider's cache; an unknown id counts against `clientAddress`'s allowance for
    /// unknown credentials, so a flood of made-up ids is answered from memory, not by the database.
    public func check(_ request: AuthorizationRequest, clientAddress: String?) async throws -> OIDCClient {
        guard let client = try await client(id: request.clientID, clientAddress: clientAddress) else {
            unknownTokens.recordUnknown(from: clientAddress, at: clock.ticks())
            throw AuthorizationRefusal.page("This sign-in link names an app that is not registered with TeamGate.")
        }
        guard client.redirectURIs.contains(request.redirectURI) else {
            throw AuthorizationRefusal.page("This sign-in link would send you to an address \(client.name) has not registered with TeamGate.")
        }
        let back = { (code: String, description: String) in
            AuthorizationRefusal.redirect(redirect(request, ["error": code, "error_description": description]))
        }
        guard request.parameters["response_type"] == "code" else { throw back("unsupported_response_type", "response_type must be code") }
        guard OIDCScope.granted(from: request.parameters["scope"] ?? "").contains(.openid) else { throw back("invalid_scope", "scope must include openid") }
        if let method = request.parameters["code_challenge_method"], method != "S256", request.codeChallenge != nil {
            throw back("invalid_request", "code_challenge_method must be S256")
        }
        if client.isPublic, request.codeChallenge == nil { throw back("invalid_request", "a public app must send a PKCE code_challenge (S256)") }
        return client
    }

    /// The error a request with `prompt=none` gets when the member must sign in first.
    public func loginRequired(_ request: AuthorizationRequest) -> String {
        redirect(request, ["error": "login_required", "error_description": "The member is not signed in to TeamGate."])
    }

    /// Sends the browser back to the app with a code, for the live SSO session `live`; nil when that session is not
    /// (or no longer) a member of the app's organisation: the member must sign in again.
    public func approve(_ request: AuthorizationRequest, client: OIDCClient, session live: LiveSession) async throws -> String? {
        guard live.member.organizationID == client.organizationID else { return nil }
        let now = clock.now()
        let code = SecretToken.make(prefix: "tgc_")
        let scope = OIDCScope.text(OIDCScope.granted(from: request.parameters["scope"] ?? ""))
        let nonce = request.parameters["nonce"].flatMap { $0.isEmpty ? nil : $0 }
        let lifetime = policy.codeLifetime
        let issued = try await transactions.run { work -> Bool in
            guard let (session, member) = try work.session(id: live.sessionID, organizationID: client.organizationID), session.isLive(at: now),
                member.removedAt == nil, !member.isLocked(at: now)
            else { return false }
            try work.insertOIDCCode(
                OIDCCode(
                    codeHash: SecretToken.hash(code), clientID: client.id, ssoSessionID: session.id, memberID: member.id,
                    organizationID: client.organizationID, redirectURI: request.redirectURI, scope: scope, nonce: nonce,
                    codeChallenge: request.codeChallenge, authTime: session.createdAt, expiresAt: now.addingTimeInterval(lifetime)))
            return true
        }
        return issued ? redirect(request, ["code": code]) : nil
    }

    /// The app's redirect URI with `parameters`, the request's `state` and the issuer (RFC 9207) added to its query.
    func redirect(_ request: AuthorizationRequest, _ parameters: [String: String]) -> String {
        var all = parameters
        if let state = request.state { all["state"] = state }
        all["iss"] = issuer
        return Self.appending(all, to: request.redirectURI)
    }

    static func appending(_ parameters: [String: String], to uri: String) -> String {
        let query = parameters.sorted { $0.key < $1.key }.map { "\(formEncode($0.key))=\(formEncode($0.value))" }.joined(separator: "&")
        return uri + (uri.contains("?") ? "&" : "?") + query
    }

    static func formEncode(_ text: String) -> String {
        // RFC 3986's unreserved characters, ASCII only (CharacterSet.alphanumerics would keep other scripts' letters).
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// PKCE S256: base64url(SHA-256(verifier)).
    static func s256(_ verifier: String) -> String {
        JSONWebSignature.base64URL(Data(SHA256.hash(data: Data(verifier.utf8))))
    }
}
