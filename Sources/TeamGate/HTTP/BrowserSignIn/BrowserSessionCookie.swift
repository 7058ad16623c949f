import Foundation
import Hummingbird

/// The browser's TeamGate session, one per browser: a session like any other (listed, ended by every admin logout,
/// kicked live, audited), in the `teamgate_session` cookie. Set by TeamGate's sign-in page (the OpenID Connect
/// authorization endpoint's and /sign-in's), read by them, by `/auth/verify` behind a proxy and by RP-initiated
/// logout. HttpOnly; SameSite=Lax (a sign-in arrives by a cross-site redirect); Secure when TeamGate is reached over
/// https (browsers drop a Secure cookie over plain http); `Domain` from `--cookie-domain`, so that every app under
/// the domain shares it.
struct BrowserSessionCookie: Sendable {
    static let name = "teamgate_session"
    let secure: Bool
    let domain: String?

    init(publicURL: String, domain: String?) {
        self.secure = publicURL.lowercased().hasPrefix("https://")
        self.domain = domain
    }

    private var attributes: String { "Path=/; HttpOnly; SameSite=Lax" + (domain.map { "; Domain=\($0)" } ?? "") + (secure ? "; Secure" : "") }

    /// `Set-Cookie` for a new session, kept by the browser as long as the session lasts.
    func setting(_ token: String, expiresAt: Date, now: Date) -> String {
        "\(Self.name)=\(token); \(attributes); Max-Age=\(max(0, Int(expiresAt.timeIntervalSince(now))))"
    }

    /// `Set-Cookie` that makes the browser forget it.
    var clearing: String { "\(Self.name)=; \(attributes); Max-Age=0" }

    /// The session token the request's cookie carries, if it looks like one. Scanned as bytes: a proxy's
    /// `/auth/verify` pays for this on every request of every app behind it.
    static func token(in request: Request) -> String? {
        // HTTPTypes joins several Cookie fields with "; ".
        guard let header = request.headers[.cookie] else { return nil }
        let bytes = Array(header.utf8)
        let wanted = Array("\(name)=tgs_".utf8)
        var start = 0
        while start + wanted.count <= bytes.count {
            // A cookie starts the header or follows "; " (or ";" alone, as some clients write it).
            if bytes[start..<(start + wanted.count)].elementsEqual(wanted) {
                var end = start + wanted.count
                while end < bytes.count, bytes[end] != UInt8(ascii: ";"), bytes[end] != UInt8(ascii: " ") { end += 1 }
                return String(decoding: bytes[(start + wanted.count - 4)..<end], as: UTF8.self)
            }
            guard let separator = bytes[start...].firstIndex(of: UInt8(ascii: ";")) else { return nil }
            start = separator + 1
            while start < bytes.count, bytes[start] == UInt8(ascii: " ") { start += 1 }
        }
        return nil
    }
}
