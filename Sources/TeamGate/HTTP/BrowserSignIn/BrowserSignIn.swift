import Foundation
import Hummingbird

/// The steps of TeamGate's sign-in page, for every door that shows it (the OpenID Connect authorization endpoint,
/// `/sign-in` for forward auth): a code for the number, with the same limits and the same answer for strangers as
/// `POST /auth/otp`; then the code, and for a number on several teams (when the door does not fix the team) the
/// team, for the browser's session. One place, so that every door keeps the same rules.
struct BrowserSignIn: Sendable {
    let signIn: SignIn
    let clock: WallClock
    let cookie: BrowserSessionCookie

    enum Outcome {
        /// The next page of the sign-in (or the same one, saying what was wrong).
        case page(Response)
        /// Signed in: the browser's session and the `Set-Cookie` that carries it.
        case signedIn(LiveSession, setCookie: String)
    }

    /// One step, from the page's form. `organizationID` is the team the door signs in to; nil lets the member choose.
    func step(
        _ fields: [String: String], form: SignInPage.Form, organizationID: String?, request: Request, context: TeamGateRequestContext
    ) async throws -> Outcome {
        let text = fields["phone"] ?? ""
        guard let phone = PhoneNumber(validating: text) else {
            return .page(SignInPage.phoneStep(form, phone: text, message: "That is not a phone number with its country code.").render(status: .badRequest))
        }
        if fields["step"] != "sign-in" {
            do {
                try signIn.requestCode(phone: phone, clientAddress: context.clientIP)
            } catch let error as TeamGateError {
                return .page(SignInPage.phoneStep(form, phone: text, message: APIError(error).message.text).render(status: .tooManyRequests))
            }
            return .page(SignInPage.codeStep(form, phone: phone.e164).render())
        }
        let code = fields["code"] ?? ""
        let signedIn: SignIn.SignedIn
        do {
            signedIn = try await signIn.signIn(
                phone: phone, code: code, deviceName: "Browser (TeamGate sign-in)",
                organizationID: organizationID ?? fields["organizationId"].flatMap { $0.isEmpty ? nil : $0 },
                userAgent: request.headers[.userAgent].map { String($0.prefix(300)) }, ipAddress: context.clientIP)
        } catch TeamGateError.notATeamMember {
            return .page(SignInPage.phoneStep(form, message: "That number is not on \(form.team).").render(status: .forbidden))
        } catch TeamGateError.organizationRequired(let organizations) {
            return .page(SignInPage.teamStep(form, phone: phone.e164, code: code, organizations: organizations).render())
        } catch let error as TeamGateError {
            return .page(SignInPage.codeStep(form, phone: phone.e164, message: APIError(error).message.text).render(status: .unauthorized))
        }
        let live = LiveSession(
            sessionID: signedIn.session.id, expiresAt: signedIn.session.expiresAt, member: signedIn.member,
            organizationName: signedIn.organization.name)
        return .signedIn(live, setCookie: cookie.setting(signedIn.token, expiresAt: live.expiresAt, now: clock.now()))
    }

    /// The browser's live TeamGate session, from its cookie; nil when it has none or it ended.
    func session(_ request: Request, context: TeamGateRequestContext) async throws -> LiveSession? {
        guard let token = BrowserSessionCookie.token(in: request) else { return nil }
        do {
            return try await signIn.currentSession(token: token, clientAddress: context.clientIP)
        } catch TeamGateError.sessionUnknown, TeamGateError.sessionEnded {
            return nil
        }
    }
}
