import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// The OpenID Connect provider's machine endpoints: discovery, the JWKS, the token endpoint, userinfo, introspection
/// (RFC 7662) and revocation (RFC 7009). Refusals are OAuth's own JSON (`error`, `error_description`), never cached.
struct OIDCController {
    let oidc: OIDCProvider
    let bodyLimit: Int

    func addRoutes(to routes: Routes<TeamGateRequestContext>) {
        routes.on(.get, "/.well-known/openid-configuration") { _, _ in Self.json(.ok, discovery(), cache: "public, max-age=300") }
        routes.on(.get, "/oidc/jwks") { _, _ in try Self.json(.ok, try await oidc.jwks(), cache: "public, max-age=60") }
        routes.on(.post, "/oidc/token", use: token)
        routes.on(.get, "/oidc/userinfo", use: userInfo)
        routes.on(.post, "/oidc/userinfo", use: userInfo)
        routes.on(.post, "/oidc/introspect", use: introspect)
        routes.on(.post, "/oidc/revoke", use: revoke)
    }

    func discovery() -> [String: JSONClaim] {
        let base = oidc.issuer
        return [
            "issuer": .string(base), "authorization_endpoint": .string(base + "/oidc/authorize"), "token_endpoint": .string(base + "/oidc/token"),
            "userinfo_endpoint": .string(base + "/oidc/userinfo"), "jwks_uri": .string(base + "/oidc/jwks"),
            "end_session_endpoint": .string(base + "/oidc/logout"), "revocation_endpoint": .string(base + "/oidc/revoke"),
            "introspection_endpoint": .string(base + "/oidc/introspect"), "response_types_supported": .strings(["code"]),
            "response_modes_supported": .strings(["query"]), "grant_types_supported": .strings(["authorization_code", "refresh_token"]),
            "subject_types_supported": .strings(["public"]), "id_token_signing_alg_values_supported": .strings(["RS256"]),
            "code_challenge_methods_supported": .strings(["S256"]),
            "token_endpoint_auth_methods_supported": .strings(["client_secret_basic", "client_secret_post", "none"]),
            "revocation_endpoint_auth_methods_supported": .strings(["client_secret_basic", "client_secret_post", "none"]),
            "introspection_endpoint_auth_methods_supported": .strings(["client_secret_basic", "client_secret_post"]),
            "scopes_supported": .strings(OIDCScope.allCases.map(\.rawValue)),
            "claims_supported": .strings(["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "name", "phone_number", "phone_number_verified"]),
            "backchannel_logout_supported": .bool(true), "backchannel_logout_session_supported": .bool(true),
            "authorization_response_iss_parameter_supported": .bool(true),
        ]
    }

    @Sendable func token(_ request: Request, context: TeamGateRequestContext) async throws -> Response {
        try await answering {
            let form = try await Self.form(request, limit: bodyLimit)
            let credentials = try Self.credentials(request, form: form)
            let response: TokenResponse
            switch form["grant_type"] ?? "" {
            case "authorization_code":
                guard let code = form["code"], !code.isEmpty else { throw OAuthError.invalidRequest("code is required") }
                response = try await oidc.exchange(
                    code: code, redirectURI: form["redirect_uri"], codeVerifier: form["code_verifier"], credentials: credentials,
                    clientAddress: context.clientIP)
            case "refresh_token":
                guard let refresh = form["refresh_token"], !refresh.isEmpty else { throw OAuthError.invalidRequest("refresh_token is required") }
                response = try await oidc.refresh(refreshToken: refresh, credentials: credentials, clientAddress: context.clientIP)
            case "": throw OAuthError.invalidRequest("grant_type is required")
            case let other: throw OAuthError.unsupportedGrantType(String(other.prefix(50)))
            }
            return try Self.json(.ok, response)
        }
    }

    @Sendable func userInfo(_ request: Request, context: TeamGateRequestContext) async throws -> Response {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            return Self.bearerRefusal(OAuthError(code: "invalid_request", description: "Authorization: Bearer <access token> is required", status: 401))
        }
        do {
            return Self.json(.ok, try await oidc.userInfo(accessToken: String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces), clientAddress: context.clientIP))
        } catch let error as OAuthError {
            return Self.bearerRefusal(error)
        }
    }

    @Sendable func introspect(_ request: Request, context: TeamGateRequestContext) async throws -> Response {
        try await answering {
            let form = try await Self.form(request, limit: bodyLimit)
            let credentials = try Self.credentials(request, form: form)
            guard let token = form["token"], !token.isEmpty else { throw OAuthError.invalidRequest("token is required") }
            return Self.json(.ok, text: try await oidc.introspect(token: token, credentials: credentials, clientAddress: context.clientIP))
        }
    }

    @Sendable func revoke(_ request: Request, context: TeamGateRequestContext) async throws -> Response {
        try await answering {
            let form = try await Self.form(request, limit: bodyLimit)
            let credentials = try Self.credentials(request, form: form)
            guard let token = form["token"], !token.isEmpty else { throw OAuthError.invalidRequest("token is required") }
            try await oidc.revoke(token: token, credentials: credentials, clientAddress: context.clientIP)
            return Response(status: .ok, headers: [.cacheControl: "no-store"])
        }
    }

    /// Runs an endpoint whose refusals are OAuth's.
    private func answering(_ work: () async throws -> Response) async throws -> Response {
        do {
            return try await work()
        } catch let error as OAuthError {
            var response = Self.json(HTTPResponse.Status(code: error.status), ["error": .string(error.code), "error_description": .string(error.description)])
            if error.status == 401 { response.headers[.wwwAuthenticate] = "Basic realm=\"TeamGate\"" }
            return response
        }
    }

    private static func bearerRefusal(_ error: OAuthError) -> Response {
        var response = json(.unauthorized, ["error": .string(error.code), "error_description": .string(error.description)])
        response.headers[.wwwAuthenticate] = "Bearer error=\"\(error.code)\", error_description=\"\(error.description)\""
        return response
    }

    /// The form body OAuth endpoints take (RFC 6749 §3.2): nothing else.
    static func form(_ request: Request, limit: Int) async throws -> [String: String] {
        guard let contentType = request.headers[.contentType], JSONObjectBody.isForm(contentType) else {
            throw OAuthError.invalidRequest("the body must be application/x-www-form-urlencoded")
        }
        return FormBody.parse(try await JSONObjectBody.readBytes(request, limit: limit))
    }

    /// `client_secret_basic` (RFC 6749 §2.3.1: each part form-encoded), `client_secret_post`, or `none` (a `client_id`
    /// alone, for a public app); two methods at once are refused.
    static func credentials(_ request: Request, form: [String: String]) throws -> ClientCredentials {
        // Parsed without Foundation's string methods: every introspection pays for this (measured with perf).
        if let header = request.headers[.authorization], header.utf8.count > 6,
            header.utf8.prefix(6).lazy.map({ $0 | 0x20 }).elementsEqual("basic ".utf8)
        {
            guard form["client_secret"] == nil else { throw OAuthError.invalidClient }
            if let known = BasicCredentials.shared.decoded(header) { return known }
            let encoded = Substring(header.utf8.dropFirst(6).drop(while: { $0 == UInt8(ascii: " ") }))
            guard let decoded = Data(base64Encoded: String(encoded.trimmingSuffix(" "))),
                let text = String(validating: decoded, as: UTF8.self), let colon = text.firstIndex(of: ":")
            else { throw OAuthError.invalidClient }
            let credentials = ClientCredentials.secret(clientID: FormBody.decode(text[..<colon]), secret: FormBody.decode(text[text.index(after: colon)...]))
            BasicCredentials.shared.remember(header, credentials)
            return credentials
        }
        guard let clientID = form["client_id"], !clientID.isEmpty else { throw OAuthError.invalidClient }
        if let secret = form["client_secret"] { return .secret(clientID: clientID, secret: secret) }
        return .publicClient(clientID: clientID)
    }

    /// Claims, written by hand (`JSONClaim.text`): the hot path of introspection and userinfo.
    static func json(_ status: HTTPResponse.Status, _ claims: [String: JSONClaim], cache: String = "no-store") -> Response {
        json(status, text: JSONClaim.text(claims), cache: cache)
    }

    static func json(_ status: HTTPResponse.Status, text: String, cache: String = "no-store") -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8", .cacheControl: cache]
        if cache == "no-store" { headers[Self.pragma] = "no-cache" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static let pragma = HTTPField.Name("Pragma")!

    static func json(_ status: HTTPResponse.Status, _ value: some Encodable, cache: String = "no-store") throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8", .cacheControl: cache]
        if cache == "no-store" { headers[Self.pragma] = "no-cache" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}

/// `client_secret_basic` headers already decoded, by the header's exact text: an app sends the same one on every call
/// (decoding it cost every introspection a twentieth of its time, measured with perf). Whether the secret is right is
/// still checked on every call; this only skips the base64. Kept in memory only, as the request itself is.
final class BasicCredentials: Sendable {
    static let shared = BasicCredentials()
    /// Beyond this many headers the memo starts again empty (made-up headers cannot grow it without bound).
    static let capacity = 1_000
    private let headers = Mutex<[String: ClientCredentials]>([:])

    func decoded(_ header: String) -> ClientCredentials? { headers.withLock { $0[header] } }

    func remember(_ header: String, _ credentials: ClientCredentials) {
        headers.withLock { headers in
            if headers.count >= Self.capacity { headers.removeAll(keepingCapacity: true) }
            headers[header] = credentials
        }
    }
}

extension Substring {
    /// Without the trailing `character`s.
    fileprivate func trimmingSuffix(_ character: Character) -> Substring {
        var end = endIndex
        while end > startIndex, self[index(before: end)] == character { end = index(before: end) }
        return self[..<end]
    }
}
