import Foundation
import Hummingbird

/// Before the console hands out a secret (an API key, a webhook's signing secret) the admin confirms a one-time
/// code from within the last `ConsolePolicy.freshCodeWindow`: a cookie taken from a browser is not enough. The
/// code goes through the console's own sign-in, so the confirmed session replaces the old one (a new cookie).
struct ConsoleFreshCode: Sendable {
    let services: TeamGateServices

    enum Outcome {
        /// Go ahead as `admin`; `setCookie` when a fresh code just replaced the session.
        case confirmed(admin: ConsoleAdmin, setCookie: String?)
        /// The page that asks for the code (or says why it could not be sent or was wrong).
        case asking(Response)
    }

    /// `action` is the form's own address; `carried` are its fields, posted again with the code.
    func confirm(
        _ context: ConsoleFormContext, action: String, purpose: String, carried: [String: String], userAgent: String?
    ) async throws -> Outcome {
        let admin = context.admin
        let phone = admin.live.member.phone
        if let code = context.form["code"], !code.isEmpty {
            do {
                let signedIn = try await services.consoleSessions.signIn(
                    phone: phone, code: code, organizationID: admin.organizationID, userAgent: userAgent, ipAddress: context.clientIP,
                    requestID: context.origin.requestID, replacing: admin.record)
                let renewed = ConsoleAdmin(record: signedIn.record, token: signedIn.token, secure: admin.secure)
                let maxAge = Int(signedIn.record.live.expiresAt.timeIntervalSince(services.clock.now()))
                return .confirmed(admin: renewed, setCookie: ConsoleAdmin.cookie(token: signedIn.token, maxAge: maxAge, secure: admin.secure))
            } catch let error as TeamGateError {
                return .asking(page(admin, action: action, purpose: purpose, carried: carried, error: APIError(error).message.text))
            }
        }
        if services.consoleSessions.hasFreshCode(admin.record) { return .confirmed(admin: admin, setCookie: nil) }
        do {
            try services.signIn.requestCode(phone: phone, clientAddress: context.clientIP)
        } catch let error as TeamGateError {
            return .asking(page(admin, action: action, purpose: purpose, carried: carried, error: APIError(error).message.text))
        }
        return .asking(page(admin, action: action, purpose: purpose, carried: carried, error: nil))
    }

    private func page(_ admin: ConsoleAdmin, action: String, purpose: String, carried: [String: String], error: String?) -> Response {
        let fields = carried.sorted { $0.key < $1.key }.map {
            "<input type=\"hidden\" name=\"\(HTML.escape($0.key))\" value=\"\(HTML.escape($0.value))\">"
        }
        return ConsolePage(
            title: "Confirm it is you", admin: admin.live, csrf: admin.csrf, flash: error,
            body: """
                <p>To \(HTML.escape(purpose)), enter the one-time code just sent to \(HTML.escape(admin.live.member.phone.e164)). \
                It is valid for 5 minutes. A code is asked for again after \(Int(services.consoleSessions.policy.freshCodeWindow / 60)) minutes.</p>
                <form method="post" action="\(HTML.escape(action))" class="card stack" id="fresh-code">
                <input type="hidden" name="csrf" value="\(admin.csrf)">\(fields.joined())
                <label for="code">Code</label>
                <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required>
                <button type="submit" class="try-it">Confirm</button>
                </form>
                """
        ).render(status: error == nil ? .ok : .unauthorized)
    }
}

extension ConsoleFreshCode.Outcome {
    /// The page that asks for the code; only for `.asking`.
    var askingPage: Response {
        switch self {
        case .asking(let page): page
        case .confirmed: ConsoleController.forbidden("Confirm with a code first.")
        }
    }
}
