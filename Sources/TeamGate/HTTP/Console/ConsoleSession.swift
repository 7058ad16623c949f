import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Who is signed in to the console: a console session (`ConsoleSessions`), never a device's, carried in an
/// HttpOnly, SameSite=Strict cookie, open to the roles `TeamRules.mayUseConsole` names. Over HTTPS the cookie
/// is `__Host-tg_console` (Secure, Path=/: no subdomain or plain-HTTP page can set or shadow it); over plain
/// HTTP, for local use, `tg_console`. By reference: request contexts are copied often.
final class ConsoleAdmin: Sendable {
    let record: ConsoleSessionRecord
    let token: String
    /// Whether the console is reached over HTTPS: which cookie it reads and sets.
    let secure: Bool
    /// The CSRF token of this session: derived from the session token, so it needs no storage, cannot
    /// be guessed without the cookie, and dies with the session.
    let csrf: String

    init(record: ConsoleSessionRecord, token: String, secure: Bool) {
        self.record = record
        self.token = token
        self.secure = secure
        self.csrf = SHA256.hash(data: Data("teamgate-console-csrf:\(token)".utf8)).map { String(format: "%02x", $0) }.joined()
    }

    var live: LiveSession { record.live }
    var organizationID: String { live.member.organizationID }
    var actor: Principal { .consoleAdmin(live.member) }

    /// This admin acting in `request`, as the audit records it.
    func origin(requestID: String?, clientIP: String?) -> RequestOrigin {
        RequestOrigin(actor: actor, requestID: requestID, clientIP: clientIP)
    }

    static func cookieName(secure: Bool) -> String { secure ? "__Host-tg_console" : "tg_console" }

    static func cookie(token: String, maxAge: Int, secure: Bool) -> String {
        "\(cookieName(secure: secure))=\(token); \(attributes(secure: secure)); Max-Age=\(max(0, maxAge))"
    }

    static func clearedCookie(secure: Bool) -> String {
        "\(cookieName(secure: secure))=; \(attributes(secure: secure)); Max-Age=0"
    }

    private static func attributes(secure: Bool) -> String {
        secure ? "Path=/; HttpOnly; SameSite=Strict; Secure" : "Path=/console; HttpOnly; SameSite=Strict"
    }

    /// The console cookie of the request's scheme: over HTTPS only the `__Host-` one counts.
    static func token(in request: Request, secure: Bool) -> String? {
        request.cookie(named: cookieName(secure: secure))
    }
}

extension Request {
    /// The value of the cookie `name`, nil when absent or empty. Scanned as bytes: a proxy's `/auth/verify` reads
    /// the browser's session cookie on every request of every app behind it.
    func cookie(named name: String) -> String? {
        // HTTPTypes joins several Cookie fields with "; ".
        guard let header = headers[.cookie] else { return nil }
        let bytes = Array(header.utf8)
        let wanted = Array("\(name)=".utf8)
        var start = 0
        while start < bytes.count {
            while start < bytes.count, bytes[start] == UInt8(ascii: " ") || bytes[start] == UInt8(ascii: "\t") { start += 1 }
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: ";") { end += 1 }
            if end - start >= wanted.count, bytes[start..<(start + wanted.count)].elementsEqual(wanted) {
                var valueEnd = end
                while valueEnd > start + wanted.count, bytes[valueEnd - 1] == UInt8(ascii: " ") || bytes[valueEnd - 1] == UInt8(ascii: "\t") { valueEnd -= 1 }
                return valueEnd > start + wanted.count ? String(decoding: bytes[(start + wanted.count)..<valueEnd], as: UTF8.self) : nil
            }
            start = end + 1
        }
        return nil
    }

    /// The query as a form decodes it: `+` is a space (Authlib sends `scope=openid+profile`).
    var queryFields: [String: String] {
        FormBody.parse(Data((uri.query ?? "").utf8))
    }
}

/// How the browser addressed this server: the scheme and the host with its port, as a trusted proxy forwards
/// them (`X-Forwarded-Proto`, `X-Forwarded-Host`), or as the request itself says when it came from anyone else.
/// Trust is decided as `ClientAddressMiddleware` decides it: the connection's peer is in `--trusted-proxies`.
struct ConsoleAddress: Sendable {
    let trustedProxies: [IPNetwork]

    func isFromTrustedProxy(_ peer: SocketAddress?) -> Bool {
        guard !trustedProxies.isEmpty, let peer = peer?.ipAddress.flatMap(IPAddress.init(literal:)) else { return false }
        return trustedProxies.contains { $0.contains(peer) }
    }

    /// The scheme, when known: the request's own, or a trusted proxy's word; nil for plain HTTP/1 without one.
    func scheme(_ request: Request, peer: SocketAddress?) -> String? {
        if isFromTrustedProxy(peer), let proto = Self.first(request.headers[.xForwardedProto]) { return proto.lowercased() }
        return request.head.scheme?.lowercased()
    }

    func isSecure(_ request: Request, peer: SocketAddress?) -> Bool {
        scheme(request, peer: peer) == "https"
    }

    func host(_ request: Request, peer: SocketAddress?) -> String? {
        if isFromTrustedProxy(peer), let host = Self.first(request.headers[.xForwardedHost]) { return host }
        return request.head.authority
    }

    /// A browser's `Origin` must be this console's own; a request without one (not sent by a browser's form
    /// across sites) passes. Without a known scheme, either scheme with this host is this console.
    func isSameOrigin(_ request: Request, peer: SocketAddress?) -> Bool {
        guard let origin = request.headers[.origin]?.lowercased() else { return true }
        guard let host = host(request, peer: peer)?.lowercased() else { return false }
        if let scheme = scheme(request, peer: peer) { return origin == "\(scheme)://\(host)" }
        return origin == "http://\(host)" || origin == "https://\(host)"
    }

    /// The first of a comma-separated list (a proxy chain appends), trimmed.
    private static func first(_ value: String?) -> String? {
        guard let first = value?.split(separator: ",").first?.trimmingCharacters(in: .whitespaces), !first.isEmpty else { return nil }
        return first
    }
}

extension HTTPField.Name {
    static let xForwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    static let xForwardedHost = HTTPField.Name("X-Forwarded-Host")!
}
