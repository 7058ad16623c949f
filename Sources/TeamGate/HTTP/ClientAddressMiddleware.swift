import Foundation
import HTTPTypes
import Hummingbird

/// Finds the client's address behind trusted proxies. `X-Forwarded-For` is believed only when the
/// connection comes from one of `trustedProxies`, and then read from the right: each hop a trusted proxy
/// added is skipped, and the first address no trusted proxy vouches for is the client. Anyone else could
/// write any address there, and so escape every per-address limit.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = TeamGateRequestContext
    let trustedProxies: [IPNetwork]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !trustedProxies.isEmpty, let peer = context.clientIP.flatMap(IPAddress.init(literal:)), isTrusted(peer),
            let forwarded = request.headers[values: .xForwardedFor].flatMap({ $0.split(separator: ",") }).nilIfEmpty
        else { return try await next(request, context) }
        var context = context
        var client = peer
        for hop in forwarded.reversed() {
            guard let address = IPAddress(literal: hop.trimmingCharacters(in: .whitespaces)) else { break }
            client = address
            if !isTrusted(address) { break }
        }
        context.clientIP = client.description
        return try await next(request, context)
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
