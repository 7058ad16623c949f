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
    let store: any TeamGateStore
    let sessionEvents: SessionEventHub
    /// The token's SHA-256: compared digest to digest, in constant time, so its length and bytes do not leak.
    let tokenDigest: [UInt8]?
    /// Deliveries waiting, read at most once a second: by default the route needs no token, so a flood of scrapes
    /// must not become a flood of queries. A problem instead when the database did not answer.
    let pendingDeliveries: RecentResult<(count: Int?, problem: String?)>

    init(store: any TeamGateStore, sessionEvents: SessionEventHub, token: String?) {
        self.store = store
        self.sessionEvents = sessionEvents
        self.tokenDigest = token.map { Array(SHA256.hash(data: Data($0.utf8))) }
        self.pendingDeliveries = RecentResult(maxAge: .seconds(1)) {
            do {
                return (try await store.pendingDeliveryCount(), nil)
            } catch {
                return (nil, "\(error)")
            }
        }
    }

    func addRoutes(to routes: Routes<TeamGateRequestContext>) {
        routes.on(.get, "/metrics") { request, context in
            if let tokenDigest {
                guard let given = Credentials.sessionToken(in: request.headers),
                    Self.sameBytes(Array(SHA256.hash(data: Data(given.utf8))), tokenDigest)
                else {
                    throw APIError(.unauthorized, "Metrics need Authorization: Bearer <metrics token>", headers: [.wwwAuthenticate: "Bearer"])
                }
            }
            await refreshGauges(logger: context.logger)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: TeamGateMetrics.exposition())))
        }
    }

    /// Equal digests, looking at every byte whatever the first difference.
    static func sameBytes(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        guard left.count == right.count else { return false }
        return zip(left, right).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private func refreshGauges(logger: Logger) async {
        TeamGateMetrics.sessionsInMemory.set(to: Double(store.sessionsInMemory))
        TeamGateMetrics.indexWarm.set(to: store.holdsEveryLiveSession ? 1 : 0)
        TeamGateMetrics.openSockets.set(to: Double(sessionEvents.openSocketCount))
        let pending = await pendingDeliveries.value()
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

extension HTTPField.Name {
    static let wwwAuthenticate = HTTPField.Name("WWW-Authenticate")!
}
