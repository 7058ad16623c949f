import Foundation
import Logging
import Synchronization

/// A message on its way to a member's phone: a sign-in code, or, for a member who is locked out, word
/// of the lock instead. Only the phone's owner learns of a lock: the HTTP answer is the same for everyone.
public struct OTPMessage: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case code
        case locked
    }

    public let type: Kind
    public let phoneNumber: String
    public let code: String?
    public let expiresAt: Date?
    public let lockedUntil: Date?
    /// The text to send, ready for an SMS or WhatsApp message.
    public let text: String

    static func code(_ code: String, to phone: PhoneNumber, expiresAt: Date, validFor lifetime: TimeInterval) -> OTPMessage {
        let minutes = max(1, Int((lifetime / 60).rounded()))
        return OTPMessage(
            type: .code, phoneNumber: phone.e164, code: code, expiresAt: expiresAt, lockedUntil: nil,
            text: "\(code) is your TeamGate sign-in code. It expires in \(minutes) minute\(minutes == 1 ? "" : "s"). Do not share it.")
    }

    static func locked(_ phone: PhoneNumber, until: Date) -> OTPMessage {
        OTPMessage(
            type: .locked, phoneNumber: phone.e164, code: nil, expiresAt: nil, lockedUntil: until,
            text: "Someone asked for a TeamGate sign-in code for this number, but an admin of your team has locked your sign-in until "
                + "\(until.formatted(.iso8601)). No code was sent.")
    }
}

/// Delivers sign-in codes: to the server log for local use, or to an SMS / WhatsApp gateway by webhook.
public protocol OTPSender: Sendable {
    func send(_ message: OTPMessage) async throws
}

/// Prints the code to the log. Only for local use: it is the one place a code is ever logged.
public struct LogOTPSender: OTPSender {
    let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func send(_ message: OTPMessage) async throws {
        switch message.type {
        case .code:
            logger.notice("Sign-in code for \(message.phoneNumber): \(message.code ?? "") (log sender; use --otp-sender webhook:URL in production)")
        case .locked:
            logger.notice("No sign-in code for \(message.phoneNumber): locked until \(message.lockedUntil?.formatted(.iso8601) ?? "")")
        }
    }
}

/// POSTs `{"type":"code","phoneNumber","code","expiresAt","text"}` (or `{"type":"locked","phoneNumber","lockedUntil","text"}`)
/// to a gateway, under `OutgoingPost`'s limits. With a secret, the body is signed:
/// `X-TeamGate-Signature: sha256=<hex HMAC-SHA256 of the body>`. The gateway is the operator's own, so
/// it may be on a private address.
public struct WebhookOTPSender: OTPSender {
    let url: URL
    let secret: String?

    public init(url: URL, secret: String?) {
        self.url = url
        self.secret = secret
    }

    public func send(_ message: OTPMessage) async throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = .sortedKeys
        let body = try encoder.encode(message)
        var headers = [("Content-Type", "application/json"), ("User-Agent", "TeamGate-OTP")]
        if let secret { headers.append(("X-TeamGate-Signature", "sha256=" + WebhookSignature.hex(body: body, secret: secret))) }
        let status = try await OutgoingPost(url: url, headers: headers, body: body).send()
        guard (200..<300).contains(status) else { throw OTPDeliveryError.gatewayRefused(status: status) }
    }
}

public enum OTPDeliveryError: Error, Sendable {
    case gatewayRefused(status: Int)
}

/// Keeps sent codes in memory, newest last: for embedding TeamGate in a program (and its tests) that
/// delivers codes itself.
public final class OTPOutbox: OTPSender {
    private let messages = Mutex<[OTPMessage]>([])

    public init() {}

    public func send(_ message: OTPMessage) async throws {
        messages.withLock { $0.append(message) }
    }

    /// The newest code sent to `phone`.
    public func latestCode(for phone: PhoneNumber) -> String? {
        latest(for: phone)?.code
    }

    /// The newest message sent to `phone`, a code or a lock notice.
    public func latest(for phone: PhoneNumber) -> OTPMessage? {
        messages.withLock { $0.last(where: { $0.phoneNumber == phone.e164 }) }
    }

    /// How many messages have been sent to `phone`.
    public func count(for phone: PhoneNumber) -> Int {
        messages.withLock { $0.count(where: { $0.phoneNumber == phone.e164 }) }
    }
}

// Whatever prints a sender (a service list, a debug log) gets its URL, never its secret.
extension WebhookOTPSender: CustomStringConvertible {
    public var description: String { "WebhookOTPSender(\(url.absoluteString))" }
}
