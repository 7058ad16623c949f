import Foundation
import Logging
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A sign-in code on its way to a member's phone.
public struct OTPMessage: Sendable, Codable, Equatable {
    public let phoneNumber: String
    public let code: String
    public let expiresAt: Date
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
        logger.notice("Sign-in code for \(message.phoneNumber): \(message.code) (log sender; use --otp-sender webhook:URL in production)")
    }
}

/// POSTs `{"phoneNumber","code","expiresAt"}` to a gateway. With a secret, the body is signed:
/// `X-TeamGate-Signature: sha256=<hex HMAC-SHA256 of the body>`.
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
        let body = try encoder.encode(message)
        var request = URLRequest(url: url, timeoutInterval: 10)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let secret {
            request.setValue("sha256=" + WebhookSignature.hex(body: body, secret: secret), forHTTPHeaderField: "X-TeamGate-Signature")
        }
        let (_, response) = try await URLSession.shared.data(for: request)
        guard let status = (response as? HTTPURLResponse)?.statusCode, (200..<300).contains(status) else {
            throw OTPDeliveryError.gatewayRefused
        }
    }
}

public enum OTPDeliveryError: Error, Sendable {
    case gatewayRefused
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
        messages.withLock { $0.last(where: { $0.phoneNumber == phone.e164 })?.code }
    }
}
