import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// The console's sign-in state: a member session like any other (so an admin logout ends it too),
/// carried in an HttpOnly, SameSite=Strict cookie, open to the roles `TeamRules.mayUseConsole` names.
/// By reference: request contexts are copied often.
final class ConsoleAdmin: Sendable {
    let live: LiveSession
    let token: String
    /// The CSRF token of this session: derived from the session token, so it needs no storage, cannot
    /// be guessed without the cookie, and dies with the session.
    let csrf: String

    init(live: LiveSession, token: String) {
        self.live = live
        self.token = token
        self.csrf = SHA256.hash(data: Data("teamgate-console-csrf:\(token)".utf8)).map { String(format: "%02x", $0) }.joined()
    }

    var organizationID: String { live.member.organizationID }
    var actor: Principal { .consoleAdmin(live.member) }

    static let cookieName = "tg_console"

    static func cookie(token: String, maxAge: Int, secure: Bool) -> String {
        "\(cookieName)=\(token); Path=/console; HttpOnly; SameSite=Strict; Max-Age=\(maxAge)\(secure ? "; Secure" : "")"
    }

    static func clearedCookie(secure: Bool) -> String {
        "\(cookieName)=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0\(secure ? "; Secure" : "")"
    }

    /// Whether the request came over HTTPS (directly or through a proxy that says so).
    static func isSecure(_ request: Request) -> Bool {
        request.head.scheme == "https" || request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
    }

    static func token(in request: Request) -> String? {
        guard let header = request.headers[.cookie] else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces) == cookieName {
                let value = pair[1].trimmingCharacters(in: .whitespaces)
                return value.isEmpty ? nil : value
            }
        }
        return nil
    }
}
