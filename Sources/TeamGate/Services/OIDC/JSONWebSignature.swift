import Crypto
import Foundation
import _CryptoExtras

/// Compact JWS with RS256 (RSASSA-PKCS1-v1_5 over SHA-256): the one algorithm every OpenID Connect relying party
/// must accept. Claims are built as JSON objects here, so the exact claims of each token stay visible where it is made.
enum JSONWebSignature {
    /// `header.payload.signature`, each part base64url without padding.
    static func sign(claims: [String: JSONClaim], type: String, key: SigningKey) throws -> String {
        let header: [String: JSONClaim] = ["alg": .string("RS256"), "typ": .string(type), "kid": .string(key.id)]
        let input = base64URL(JSONClaim.encode(header)) + "." + base64URL(JSONClaim.encode(claims))
        let signature = try key.privateKey.signature(for: SHA256.hash(data: Data(input.utf8)), padding: .insecurePKCS1v1_5)
        return input + "." + base64URL(signature.rawRepresentation)
    }

    /// The claims of a token signed by one of `keys` (by `kid`), whatever its expiry: the caller checks the times.
    static func verifiedClaims(of token: String, keys: [SigningKey]) -> [String: Any]? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = decodeBase64URL(parts[0]), let payload = decodeBase64URL(parts[1]),
            let signature = decodeBase64URL(parts[2]),
            let header = jsonObject(headerData),
            header["alg"] as? String == "RS256", let kid = header["kid"] as? String, let key = keys.first(where: { $0.id == kid })
        else { return nil }
        let input = Data("\(parts[0]).\(parts[1])".utf8)
        guard key.publicKey.isValidSignature(.init(rawRepresentation: signature), for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5) else {
            return nil
        }
        return jsonObject(payload)
    }

    /// A part that is no JSON object makes the token none of ours: that is the answer, not an error to report.
    private static func jsonObject(_ data: Data) -> [String: Any]? {
        do {
            return try JSONSerialization.jsonObject(with: data) as? [String: Any]
        } catch {
            return nil
        }
    }

    static func base64URL(_ data: Data) -> String {
        SecretToken.base64URL(Array(data))
    }

    static func decodeBase64URL(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}

/// A JSON value in a token's header or claims.
public enum JSONClaim: Sendable, Equatable, Encodable {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case strings([String])
    case object([String: JSONClaim])

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .strings(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    static func encode(_ object: [String: JSONClaim]) -> Data {
        Data(text(object).utf8)
    }

    /// The object as JSON text, keys sorted, written by hand: introspection answers with it on every API call an app
    /// makes, and JSONEncoder costs more than the check itself (as for `GET /me`).
    static func text(_ object: [String: JSONClaim]) -> String {
        var out = "{"
        for (index, key) in object.keys.sorted().enumerated() {
            if index > 0 { out += "," }
            out += JSONText.string(key) + ":"
            object[key]?.write(to: &out)
        }
        return out + "}"
    }

    private func write(to out: inout String) {
        switch self {
        case .string(let value): out += JSONText.string(value)
        case .int(let value): out += String(value)
        case .bool(let value): out += value ? "true" : "false"
        case .strings(let values): out += "[" + values.map(JSONText.string).joined(separator: ",") + "]"
        case .object(let value): out += Self.text(value)
        }
    }
}

/// One RSA signing key: its id (`kid`), the private half (kept in the database, shared by every instance) and the
/// public half as a JWK.
struct SigningKey: Sendable {
    let id: String
    let privateKey: _RSA.Signing.PrivateKey
    let createdAt: Date
    let retiredAt: Date?

    var publicKey: _RSA.Signing.PublicKey { privateKey.publicKey }

    init(_ stored: StoredSigningKey) throws {
        id = stored.id
        privateKey = try _RSA.Signing.PrivateKey(pemRepresentation: stored.privateKeyPEM)
        createdAt = stored.createdAt
        retiredAt = stored.retiredAt
    }

    /// A new 2048-bit key, as the database keeps it.
    static func generate(at date: Date) throws -> StoredSigningKey {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        return StoredSigningKey(id: SecretToken.identifier(prefix: "kid_"), privateKeyPEM: key.pemRepresentation, createdAt: date, retiredAt: nil)
    }

    /// The public key as a JWK (RFC 7517), for the JWKS document.
    func jwk() throws -> [String: JSONClaim] {
        let primitives = try publicKey.getKeyPrimitives()
        return [
            "kty": .string("RSA"), "use": .string("sig"), "alg": .string("RS256"), "kid": .string(id),
            "n": .string(JSONWebSignature.base64URL(primitives.modulus)), "e": .string(JSONWebSignature.base64URL(primitives.publicExponent)),
        ]
    }
}
