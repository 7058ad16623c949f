import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// An error as the client sees it: NestJS's shape (`statusCode`, `message`, `error`), which is what
/// DoubleTick's clients already parse. `message` is a list for validation errors, text otherwise.
struct APIError: Error, Sendable {
    enum Message: Sendable, Equatable {
        case text(String)
        case list([String])

        /// The message as one sentence (a list's items joined), for pages and the CLI.
        var text: String {
            switch self {
            case .text(let text): text
            case .list(let list): list.joined(separator: " ")
            }
        }
    }

    var status: HTTPResponse.Status
    var message: Message
    /// Fields beyond the NestJS three, e.g. `reason` for a refused session or `requestId` for a 500.
    var extra: [String: String] = [:]
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ message: String, extra: [String: String] = [:], headers: HTTPFields = [:]) {
        self.status = status
        self.message = .text(message)
        self.extra = extra
        self.headers = headers
    }

    init(_ status: HTTPResponse.Status, messages: [String]) {
        self.status = status
        self.message = .list(messages)
    }

    static func badRequest(_ messages: [String]) -> APIError { APIError(.badRequest, messages: messages) }

    func response() -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// The same answer, after which `channel` reads nothing more, so the connection ends once it is written.
    func response(closingInputOf channel: any Channel) -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Self.response(status: status, headers: headers, body: body, closingInputOf: channel)
    }

    /// An answer after which `channel` reads nothing more.
    static func response(status: HTTPResponse.Status, headers: HTTPFields, body: String, closingInputOf channel: any Channel) -> Response {
        var headers = headers
        headers[.connection] = "close"
        let buffer = ByteBuffer(string: body)
        return Response(
            status: status, headers: headers,
            body: .init(contentLength: buffer.readableBytes) { writer in
                try await writer.write(buffer)
                channel.close(mode: .input, promise: nil)
                try await writer.finish(nil)
            })
    }

    /// The body with NestJS's key order (`statusCode`, `message`, `error`, then extras), which JSONEncoder does not keep.
    var body: String {
        var json = #"{"statusCode":\#(status.code),"message":"#
        switch message {
        case .text(let text): json += Self.encode(text)
        case .list(let list): json += "[" + list.map(Self.encode).joined(separator: ",") + "]"
        }
        json += #","error":"# + Self.encode(Self.errorName(status))
        for (key, value) in extra.sorted(by: { $0.key < $1.key }) {
            json += "," + Self.encode(key) + ":" + Self.encode(value)
        }
        return json + "}"
    }

    private static func encode(_ text: String) -> String { JSONText.string(text) }

    /// NestJS's names for the statuses whose wording changed in later HTTP specs.
    static func errorName(_ status: HTTPResponse.Status) -> String {
        switch status.code {
        case 413: "Payload Too Large"
        case 422: "Unprocessable Entity"
        default: status.reasonPhrase
        }
    }
}

extension APIError {
    /// The answer to an error that is one (a domain rule or an `APIError`); nil for anything unexpected.
    init?(mapping error: any Error) {
        switch error {
        case let error as APIError: self = error
        case let error as TeamGateError: self.init(error)
        case let error as StoreFailure: self.init(error)
        default: return nil
        }
    }

    /// The one place domain errors become statuses and bodies.
    init(_ error: TeamGateError) {
        switch error {
        case .invalidAPIKey:
            self.init(.unauthorized, "Invalid public api key")
        case .notATeamMember:
            self.init(.unprocessableContent, "User is not a member of the team")
        case .validation(let messages):
            self.init(.badRequest, messages: messages)
        case .invalidCode:
            self.init(.unauthorized, "Invalid or expired code")
        case .tooManyCodeRequests(let seconds):
            self.init(
                .tooManyRequests, "Too many sign-in codes were requested from this address. Try again in \(seconds) seconds.",
                extra: ["retryAfter": String(seconds)], headers: [.retryAfter: String(seconds)])
        case .tooManyFailedAttempts(let seconds):
            self.init(
                .tooManyRequests, "Too many failed attempts from this address. Try again in \(seconds) seconds.",
                extra: ["retryAfter": String(seconds)], headers: [.retryAfter: String(seconds)])
        case .organizationRequired(let organizations):
            self.init(
                .conflict, "This number belongs to several teams; sign in again with organizationId set to one of: "
                    + organizations.map { "\($0.id) (\($0.name))" }.joined(separator: ", "))
        case .sessionUnknown:
            self.init(.unauthorized, "Unknown session token. Sign in again.", extra: ["reason": "unknown_session"])
        case .sessionEnded(let reason):
            self.init(.unauthorized, reason.explanation, extra: ["reason": reason.rawValue])
        case .memberExists:
            self.init(.conflict, "A member with this phone number is already on the team")
        case .memberLocked(let until):
            let time = until.formatted(.iso8601)
            self.init(HTTPResponse.Status(code: 423, reasonPhrase: "Locked"), "This member is locked out until \(time). An admin can unlock them sooner.", extra: ["lockedUntil": time])
        case .organizationNotFound(let id):
            self.init(.notFound, "Organization \(id) not found")
        case .apiKeyNotFound(let idOrPrefix):
            self.init(.notFound, "API key \(idOrPrefix) not found")
        case .memberNotFound:
            self.init(.notFound, "Team member not found")
        case .webhookNotFound:
            self.init(.notFound, "Webhook not found")
        case .appNotFound:
            self.init(.notFound, "App not found")
        // The request is sound; the organisation's state refuses it until a webhook is deleted.
        case .webhookLimitReached(let limit):
            self.init(.conflict, "This organisation already has \(limit) webhooks, the most it may have. Delete one before adding another.")
        case .revocationNotFound:
            self.init(.notFound, "Revocation not found")
        // A thing the request's body names (not its path) is a 422, as DoubleTick answers for a member.
        case .memberToChangeNotFound:
            self.init(.unprocessableContent, "User not found")
        case .sessionNotFound:
            self.init(.unprocessableContent, "Session not found")
        case .reportingManagerNotFound:
            self.init(.unprocessableContent, "Reporting manager does not exist.")
        case .phoneAlreadyOnTeam(let phone):
            self.init(.unprocessableContent, "Team member with phone \(phone.e164) already exists.")
        case .invalidCursor:
            self.init(.badRequest, messages: ["cursor must be a nextCursor from an earlier page"])
        case .lockLengthOutOfRange:
            self.init(.badRequest, messages: ["lockForMinutes must be a whole number from 1 to \(Lockout.maximumMinutes)"])
        case .ownerCannotBeLocked:
            self.init(.unprocessableContent, "The organisation owner cannot be locked out.")
        case .ownerCannotBeRemoved:
            self.init(.unprocessableContent, "The organisation owner cannot be removed.")
        case .ownerRoleCannotChange:
            self.init(.unprocessableContent, "The organisation owner's role cannot be changed.")
        case .ownerRoleCannotBeAssigned:
            self.init(.unprocessableContent, "The Owner role cannot be assigned.")
        case .notPermitted(let permission):
            self.init(.forbidden, permission.explanation)
        case .idempotencyKeyReused:
            self.init(.unprocessableContent, "This Idempotency-Key was already used with a different request.")
        case .idempotencyKeyInFlight:
            self.init(.conflict, "A request with this Idempotency-Key is still being handled; retry shortly.")
        case .userNameTaken:
            self.init(.conflict, "A directory user with this userName already exists.")
        case .memberAlreadyProvisioned:
            self.init(.conflict, "This phone number belongs to a member another directory user already holds.")
        case .ownerCannotBeDeactivated:
            self.init(.unprocessableContent, "The organisation owner cannot be deactivated.")
        case .provisioningTokenNotFound(let idOrPrefix):
            self.init(.notFound, "Provisioning token \(idOrPrefix) not found")
        }
    }
}

extension APIError {
    /// The database failing for the moment: 503 (507 for a full disk) with `Retry-After`, so a client retries and
    /// a load balancer moves on. The write was not committed.
    init(_ failure: StoreFailure) {
        switch failure {
        case .unavailable, .overloaded, .diskFailed:
            self.init(
                .serviceUnavailable, "The database cannot be reached right now; nothing was changed. Retry shortly.",
                extra: ["retryAfter": "1"], headers: [.retryAfter: "1"])
        case .full:
            self.init(
                HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"),
                "The server's disk is full; nothing was changed. Retry once an operator has made room.",
                extra: ["retryAfter": "30"], headers: [.retryAfter: "30"])
        }
    }
}

extension Permission {
    /// The sentence a refused actor reads, in the API and the console alike.
    var explanation: String {
        switch self {
        case .teamLeadOverAdmin: "A Team Lead cannot sign out, lock or unlock the Owner or another Team Lead."
        case .notAnAdmin: "Only the Owner and Team Leads manage members' sessions."
        case .ownSessionOnly: "A member manages only their own sessions."
        case .ownerOnly(.apiKeys): "Only the Owner manages API keys. Ask your Owner for a key if you need one."
        case .ownerOnly(.webhooks): "Only the Owner manages webhooks: they send members' names and numbers to another service."
        case .ownerOnly(.wholeTeamLogout): "Only the Owner signs the whole team out at once."
        case .ownerOnly(.apps): "Only the Owner registers and removes the apps that sign members in through TeamGate."
        case .ownerOnly(.provisioning): "Only the Owner manages provisioning tokens: they let a directory add, change and remove members."
        case .otherOrganization: "That belongs to another organisation."
        }
    }
}

extension TeamGateError {
    /// The refusal as a sentence, in the words the API answers it with: for the CLI and the console alike.
    public var explanation: String { APIError(self).message.text }
}
