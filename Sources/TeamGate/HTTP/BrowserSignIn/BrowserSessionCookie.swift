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

    /// The session token the request's cookie carries, if it looks like one.
    static func token(in request: Request) -> String? {
        guard let token = request.cookie(named: name), token.hasPrefix("tgs_") else { return nil }
        return token
    }
}
