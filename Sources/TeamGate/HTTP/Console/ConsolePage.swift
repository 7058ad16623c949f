import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The frame of every console page: the same look as the API reference, a navigation bar, and the
/// content. Pages are rendered on the server; the only script copies keys, asks confirmations and takes a page
/// that shows a new secret out of the history.
struct ConsolePage {
    enum Section: String {
        case team = "Team"
        case audit = "Audit log"
        case webhooks = "Webhooks"
        case developer = "Developer Documentation"
        case apps = "Apps"
        case provisioning = "Provisioning"
        case none = ""

        /// How the navigation names the section: the organisation's settings under "Settings".
        var navigationLabel: String {
            switch self {
            case .developer, .apps, .provisioning: "Settings → \(rawValue)"
            default: rawValue
            }
        }
    }

    var title: String
    var section: Section = .none
    var admin: LiveSession?
    var csrf: String?
    var flash: String?
    var body: String

    func render(status: HTTPResponse.Status = .ok) -> Response {
        var nav = ""
        if let admin, let csrf {
            let links: [(Section, String)] = [
                (.team, "/console/team"), (.audit, "/console/audit"), (.webhooks, "/console/webhooks"), (.developer, "/console/settings/developer"),
                (.apps, "/console/apps"), (.provisioning, "/console/settings/provisioning"),
            ]
            nav = """
                <nav class="console-nav" aria-label="Console">
                \(links.map { section, href in "<a href=\"\(href)\"\(section == self.section ? " aria-current=\"page\"" : "")>\(section.navigationLabel)</a>" }.joined())
                <a href="/docs/reference/logout-team-member">API reference</a>
                <span class="who">\(HTML.escape(admin.member.name)) · \(HTML.escape(admin.member.role.name)) · \(HTML.escape(admin.organizationName))</span>
                \(HTML.form(action: "/console/logout", csrf: csrf, label: "Sign out"))
                </nav>
                """
        }
        let page = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.escape(title)) — TeamGate console</title>
            <link rel="stylesheet" href="/docs/assets/reference.css"><link rel="stylesheet" href="/docs/assets/console.css">
            <script src="/docs/assets/console.js" defer></script></head>
            <body><header class="topbar"><a class="brand" href="/console">TeamGate <span>Console</span></a></header>
            \(nav)
            <main class="console-main" id="main"><h1>\(HTML.escape(title))</h1>
            \(flash.map { "<p class=\"flash\" role=\"status\">\(HTML.escape($0))</p>" } ?? "")
            \(body)
            </main></body></html>
            """
        return Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8", .contentSecurityPolicy: DocsController.pagePolicy, .cacheControl: "no-store",
                HTTPField.Name("X-Frame-Options")!: "DENY", HTTPField.Name("Referrer-Policy")!: "same-origin",
            ],
            body: .init(byteBuffer: ByteBuffer(string: page))
        )
    }
}
