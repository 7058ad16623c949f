import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// The console's sign-in state: a member session like any other (so an admin logout ends it too),
/// carried in an HttpOnly, SameSite=Strict cookie, open to Owners and Team Leads only.
struct ConsoleAdmin: Sendable {
    let live: LiveSession
    let token: String
    let origin: RequestOrigin

    var organizationID: String { live.member.organizationID }
    var isOwner: Bool { live.member.role == .owner }

    /// The CSRF token of this session: derived from the session token, so it needs no storage, cannot
    /// be guessed without the cookie, and dies with the session.
    var csrf: String {
        SHA256.hash(data: Data("teamgate-console-csrf:\(token)".utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static let cookieName = "tg_console"
    static let roles: Set<Role> = [.owner, .teamLead]

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
