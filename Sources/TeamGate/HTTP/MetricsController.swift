import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Prometheus

/// `GET /metrics`: the process's Prometheus registry (`TeamGateMetrics`) in the text exposition format, after the
/// gauges read at scrape time are set from this instance. With `token`, only `Authorization: Bearer <token>` may read it.
struct MetricsController: Sendable {
    let health: ServerHealth
    let sessionEvents: SessionEventHub

    /// `routes` is a group behind `MetricsTokenMiddleware` when a token is set.
    func addRoutes(to routes: Routes<TeamGateRequestContext>) {
        routes.on(.get, "/metrics") { request, context in
            await refreshGauges(logger: context.logger)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: TeamGateMetrics.exposition())))
        }
    }

    private func refreshGauges(logger: Logger) async {
        TeamGateMetrics.sessionsInMemory.set(to: Double(health.sessionsInMemory))
        TeamGateMetrics.indexWarm.set(to: health.holdsEveryLiveSession ? 1 : 0)
        TeamGateMetrics.openSockets.set(to: Double(sessionEvents.openSocketCount))
        let pending = await health.pendingDeliveryCount()
        if let count = pending.count {
            TeamGateMetrics.webhookQueueDepth.set(to: Double(count))
            TeamGateMetrics.databaseReachable.set(to: 1)
        } else {
            // The scrape still answers, with what this instance knows: the gauge says the database did not.
            logger.warning("Metrics could not read the database", metadata: ["error": "\(pending.problem ?? "")"])
            TeamGateMetrics.databaseReachable.set(to: 0)
        }
    }
}

/// With `--metrics-token`, only `Authorization: Bearer <token>` may read `/metrics`.
struct MetricsTokenMiddleware: RouterMiddleware {
    typealias Context = TeamGateRequestContext
    /// The token's SHA-256: compared digest to digest, in constant time, so its length and bytes do not leak.
    let tokenDigest: [UInt8]

    init(token: String) {
        tokenDigest = Array(SHA256.hash(data: Data(token.utf8)))
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let given = Credentials.sessionToken(in: request.headers), Self.sameBytes(Array(SHA256.hash(data: Data(given.utf8))), tokenDigest) else {
            throw APIError(.unauthorized, "Metrics need Authorization: Bearer <metrics token>", headers: [.wwwAuthenticate: "Bearer"])
        }
        return try await next(request, context)
    }

    /// Equal digests, looking at every byte whatever the first difference.
    static func sameBytes(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        guard left.count == right.count else { return false }
        return zip(left, right).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

extension HTTPField.Name {
    static let wwwAuthenticate = HTTPField.Name("WWW-Authenticate")!
}
