import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Finds the client's address behind trusted proxies. `X-Forwarded-For` is believed only when the
/// connection comes from one of `trustedProxies`, and then read from the right: each hop a trusted proxy
/// added is skipped, and the first address no trusted proxy vouches for is the client. Anyone else could
/// write any address there, and so escape every per-address limit. A trusted proxy's `X-Request-Id` is kept too.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = TeamGateRequestContext
    let trustedProxies: [IPNetwork]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !trustedProxies.isEmpty, let peer = context.clientIP.flatMap(IPAddress.init(literal:)), isTrusted(peer) else {
            return try await next(request, context)
        }
        var context = context
        if let forwarded = request.headers[values: .xForwardedFor].flatMap({ $0.split(separator: ",") }).nilIfEmpty {
            var client = peer
            for hop in forwarded.reversed() {
                guard let address = IPAddress(literal: hop.trimmingCharacters(in: .whitespaces)) else { break }
                client = address
                if !isTrusted(address) { break }
            }
            context.clientIP = client.description
        }
        // The proxy's request id (nginx's $request_id) replaces ours, so its log and ours name a request alike.
        // Only a plain one is kept: it goes into log lines, answers and the audit trail as it is.
        if let requestID = request.headers[.xRequestID], Self.isPlainRequestID(requestID) {
            context.logger[metadataKey: "hb.request.id"] = .string(requestID)
        }
        return try await next(request, context)
    }

    /// 1 to 128 letters, digits, `-`, `_`, `.` or `:`.
    static func isPlainRequestID(_ text: String) -> Bool {
        (1...128).contains(text.utf8.count)
            && text.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
            }
    }

    private func isTrusted(_ address: IPAddress) -> Bool {
        trustedProxies.contains { $0.contains(address) }
    }
}

extension HTTPField.Name {
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}

extension Array {
    fileprivate var nilIfEmpty: Self? { isEmpty ? nil : self }
}
