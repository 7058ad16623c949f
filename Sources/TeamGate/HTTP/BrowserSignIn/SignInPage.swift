import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// TeamGate's own sign-in page for browsers (phone number, then code, then the team for a number on several), for
/// the apps that sign members in through it (OpenID Connect) and those behind a proxy that asks it (forward auth).
/// The request being answered travels in hidden fields, checked again on every step. Never cached, never framed.
struct SignInPage {
    var title: String
    var message: String?
    var body: String
    /// Where a form on this page may lead, beyond TeamGate itself (the app the sign-in redirects to).
    var formTarget: String?

    func render(status: HTTPResponse.Status = .ok, setCookie: String? = nil) -> Response {
        let page = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.escape(title)) — TeamGate</title>
            <link rel="stylesheet" href="/docs/assets/reference.css"><link rel="stylesheet" href="/docs/assets/console.css"></head>
            <body><header class="topbar"><span class="brand">TeamGate <span>Sign in</span></span></header>
            <main class="console-main" id="main"><h1>\(HTML.escape(title))</h1>
            \(message.map { "<p class=\"flash\" role=\"status\">\(HTML.escape($0))</p>" } ?? "")
            \(body)
            </main></body></html>
            """
        // A form's redirect to the app counts as a form action in browsers that enforce it on redirects.
        let formAction = "form-action 'self'" + (formTarget.map { " " + $0 } ?? "")
        var headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8",
            .contentSecurityPolicy: DocsController.pagePolicy.replacingOccurrences(of: "form-action 'self'", with: formAction),
            .cacheControl: "no-store", HTTPField.Name("X-Frame-Options")!: "DENY", // same-origin, not no-referrer: with no-referrer Chromium posts the page's forms with `Origin: null`.
            HTTPField.Name("Referrer-Policy")!: "same-origin",
        ]
        if let setCookie { headers[.setCookie] = setCookie }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: page)))
    }

    /// The request's parameters as hidden fields.
    static func hidden(_ parameters: [String: String]) -> String {
        parameters.sorted { $0.key < $1.key }.map { "<input type=\"hidden\" name=\"\(HTML.escape($0.key))\" value=\"\(HTML.escape($0.value))\">" }
            .joined()
    }

    /// Which door shows the page: the app it signs in to (nil: TeamGate itself), where its forms post, the
    /// request being answered (hidden fields) and where the last step may lead beyond TeamGate.
    struct Form: Sendable {
        var app: String?
        var action: String
        var parameters: [String: String]
        var formTarget: String? = nil

        var title: String { "Sign in to \(app ?? "TeamGate")" }
        var team: String { app.map { "the team that uses \($0)" } ?? "a team here" }
        func open(step: String) -> String {
            "<form method=\"post\" action=\"\(HTML.escape(action))\" class=\"card stack\">\(hidden(parameters))<input type=\"hidden\" name=\"step\" value=\"\(step)\">"
        }
    }

    static func phoneStep(_ form: Form, phone: String = "", message: String? = nil) -> SignInPage {
        let intro = form.app.map { "\(HTML.escape($0)) signs you in with TeamGate. " } ?? ""
        return SignInPage(
            title: form.title, message: message,
            body: """
                <p>\(intro)Enter your phone number with its country code; a code is sent to it.</p>
                \(form.open(step: "code"))
                <label for="phone">Phone number</label>
                <input id="phone" name="phone" type="tel" autocomplete="tel" placeholder="+9193XXXXXXXX" value="\(HTML.escape(phone))" required>
                <button type="submit" class="try-it">Get a code</button>
                </form>
                """)
    }

    static func codeStep(_ form: Form, phone: String, message: String? = nil) -> SignInPage {
        SignInPage(
            title: "Enter your code", message: message,
            body: """
                <p>If \(HTML.escape(phone)) belongs to a member of \(HTML.escape(form.team)), a 6-digit code has been sent to it.</p>
                \(form.open(step: "sign-in"))<input type="hidden" name="phone" value="\(HTML.escape(phone))">
                <label for="code">Code</label>
                <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required>
                <button type="submit" class="try-it">Sign in</button>
                </form>
                """,
            formTarget: form.formTarget)
    }

    /// A number on several teams, its code right: which team to sign in to (the code, still unused, goes again).
    static func teamStep(_ form: Form, phone: String, code: String, organizations: [Organization]) -> SignInPage {
        let choices = organizations.enumerated().map { index, organization in
            """
            <label class="choice"><input type="radio" name="organizationId" value="\(HTML.escape(organization.id))"\(index == 0 ? " checked" : "")> \
            \(HTML.escape(organization.name))</label>
            """
        }.joined(separator: "\n")
        return SignInPage(
            title: "Choose your team", message: nil,
            body: """
                <p>\(HTML.escape(phone)) is on several teams. Which one are you signing in to?</p>
                \(form.open(step: "sign-in"))<input type="hidden" name="phone" value="\(HTML.escape(phone))">\
                <input type="hidden" name="code" value="\(HTML.escape(code))">
                <fieldset><legend>Team</legend>
                \(choices)
                </fieldset>
                <button type="submit" class="try-it">Sign in</button>
                </form>
                """,
            formTarget: form.formTarget)
    }

    static func refusal(_ text: String) -> SignInPage {
        SignInPage(title: "This sign-in cannot go on", message: nil, body: "<p>\(HTML.escape(text))</p><p>Go back to the app and try again.</p>")
    }

    static func signedOut() -> SignInPage {
        SignInPage(title: "You are signed out", message: nil, body: "<p>You are signed out of TeamGate and of the apps you signed in to with it.</p><p><a href=\"/sign-in\">Sign in again</a></p>")
    }

    static func confirmSignOut(parameters: [String: String]) -> SignInPage {
        SignInPage(
            title: "Sign out?", message: nil,
            body: """
                <p>Sign out of TeamGate and of every app you signed in to with it on this browser?</p>
                <form method="post" action="/oidc/logout" class="card stack">\(hidden(parameters))
                <input type="hidden" name="confirm" value="yes"><button type="submit" class="try-it">Sign out</button></form>
                """)
    }
}
