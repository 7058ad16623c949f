import Foundation
import HTTPTypes
import Hummingbird

/// `/auth/verify`'s answer without a live session: the way to TeamGate's sign-in page, with `rd` = the URL the
/// browser asked the proxy for, in the shape the asking proxy needs.
/// - nginx (`auth_request`) sends `X-Original-URL` and turns any answer but 2xx, 401 and 403 into a 500: exactly
///   401, with the sign-in page in `Location` for `error_page 401 =302`.
/// - Caddy and Traefik send `X-Forwarded-Method`/`X-Forwarded-Uri` and hand a non-2xx answer to the browser: 302.
/// - A request that asks for JSON (an app's script) gets 401 with no redirect to follow.
/// The original URL is believed only from `--trusted-proxies`; from anyone else the sign-in page has no `rd`.
struct ForwardAuthRefusal {
    static let originalURL = HTTPField.Name("X-Original-URL")!
    static let forwardedMethod = HTTPField.Name("X-Forwarded-Method")!
    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    static let forwardedHost = HTTPField.Name("X-Forwarded-Host")!
    static let forwardedURI = HTTPField.Name("X-Forwarded-Uri")!

    let response: Response

    init(_ request: Request, fromTrustedProxy: Bool, issuer: String) {
        let headers = request.headers
        let forwardedStyle = headers[Self.forwardedMethod] != nil || headers[Self.forwardedURI] != nil
        var original: String?
        if fromTrustedProxy {
            if let url = headers[Self.originalURL], !url.isEmpty {
                original = url
            } else if let proto = headers[Self.forwardedProto], let host = headers[Self.forwardedHost], let uri = headers[Self.forwardedURI] {
                original = "\(proto)://\(host)\(uri.hasPrefix("/") ? uri : "/" + uri)"
            }
        }
        let signIn = "\(issuer)/sign-in" + (original.map { "?rd=" + Self.queryEncoded($0) } ?? "")
        var fields: HTTPFields = [.cacheControl: "no-store"]
        if Self.asksForJSON(headers[.accept]) {
            fields[.contentType] = "application/json; charset=utf-8"
            response = Response(
                status: .unauthorized, headers: fields, body: .init(byteBuffer: ByteBuffer(string: #"{"message":"Sign in with TeamGate first"}"#)))
            return
        }
        fields[.location] = signIn
        response = Response(status: forwardedStyle ? .found : .unauthorized, headers: fields)
    }

    /// JSON asked for and HTML not: a script's request, not a page load.
    static func asksForJSON(_ accept: String?) -> Bool {
        guard let accept else { return false }
        return accept.contains("application/json") && !accept.contains("text/html")
    }

    /// Everything but RFC 3986's unreserved characters percent-encoded, so that `rd` decodes to exactly `text`.
    static func queryEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
