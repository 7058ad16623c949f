import AsyncHTTPClient
import Foundation
import Logging
import ServiceLifecycle

/// Sends the back-channel logouts the outbox holds (OpenID Connect Back-Channel Logout 1.0): each a form POST of
/// one `logout_token` to the URI the app registered, exactly as registered, through the same guarded outgoing HTTP
/// as webhooks (no redirects, one deadline, a bounded answer, private addresses refused unless allowed). 200 and
/// 204 are success; anything else is retried with backoff. A delivery holds no lock and no transaction while the
/// app answers: apps call back into TeamGate (their revocation) while handling the logout.
public struct BackChannelLogouts: Service {
    let store: any TeamGateStore
    let provider: OIDCProvider
    let clock: WallClock
    let logger: Logger
    let targets: WebhookTargets
    let retryBase: TimeInterval
    let maxAttempts: Int
    let pollInterval: Duration
    let maxInFlight: Int
    let maxInFlightPerReceiver: Int
    let deadline: Duration

    public init(
        store: any TeamGateStore, provider: OIDCProvider, clock: WallClock = .system, logger: Logger, targets: WebhookTargets = WebhookTargets(),
        retryBase: TimeInterval = 2, maxAttempts: Int = 8, pollInterval: Duration = .milliseconds(200), maxInFlight: Int = 64,
        maxInFlightPerReceiver: Int = 8, deadline: Duration = .seconds(5)
    ) {
        self.store = store
        self.provider = provider
        self.clock = clock
        self.logger = logger
        self.targets = targets
        self.retryBase = retryBase
        self.maxAttempts = maxAttempts
        self.pollInterval = pollInterval
        self.maxInFlight = maxInFlight
        self.maxInFlightPerReceiver = maxInFlightPerReceiver
        self.deadline = deadline
    }

    public func run() async throws {
        await ShutdownGrace.run { [self] in await dispatch() }
    }

    private func dispatch() async {
        let lanes = DeliveryLanes()
        await withDiscardingTaskGroup { group in
            // After a failed poll (the database unreachable) the next waits longer, doubling up to 5 s: polls that each
            // hold a connection attempt for the whole database deadline would crowd out the requests' own reads.
            var wait = pollInterval
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                let free = maxInFlight - lanes.total
                if free > 0 {
                    do {
                        let lease = TimeInterval(deadline.milliseconds) / 1000 + 30
                        for delivery in try await store.claimDueLogoutDeliveries(at: clock.now(), limit: free, lease: lease) {
                            let receiver = URL(string: delivery.uri).map(WebhookDispatcher.receiver(of:)) ?? delivery.uri
                            let held = [DeliveryLanes.Lane(receiver, limit: maxInFlightPerReceiver)]
                            if lanes.enter(held, newDelivery: true) {
                                group.addTask {
                                    await deliver(delivery)
                                    lanes.leave(held, endingDelivery: true)
                                }
                            } else {
                                try await store.releaseLogoutClaim(id: delivery.id, dueIn: 0.2, at: clock.now())
                            }
                        }
                        wait = pollInterval
                    } catch {
                        logger.error("Back-channel logout dispatch failed", metadata: ["error": "\(error)"])
                        wait = min(wait * 2, .seconds(5))
                    }
                }
                do {
                    try await Sleep.for(wait)
                } catch {
                    break  // cancelled: the service is stopping
                }
            }
        }
    }

    func deliver(_ delivery: LogoutDelivery) async {
        var status: Int?
        var failure: String?
        if let url = URL(string: delivery.uri) {
            switch await targets.verdict(for: url) {
            case .refused(let reason): failure = reason
            case .unresolvable: failure = "unreachable: the host does not resolve"
            case .connect(let address):
                do {
                    let token = try await provider.logoutToken(for: delivery)
                    let body = Data("logout_token=\(OIDCProvider.formEncode(token))".utf8)
                    // A body of known length: some apps (mod_auth_openidc) read a chunked body as empty.
                    let post = OutgoingPost(
                        url: url,
                        headers: [
                            ("Content-Type", "application/x-www-form-urlencoded"), ("Content-Length", "\(body.count)"),
                            ("User-Agent", "TeamGate-Logout"),
                        ],
                        body: body, connectTo: address, deadline: deadline)
                    let answered = try await post.send()
                    status = answered
                    if answered != 200 && answered != 204 { failure = "HTTP \(answered)" }
                } catch OutgoingPostError.deadlineExceeded {
                    failure = "timed out"
                } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
                    failure = "timed out"
                } catch {
                    failure = "unreachable"
                }
            }
        } else {
            failure = "refused: not a URL"
        }
        let attempt = delivery.attempts + 1
        let retryIn: TimeInterval? = failure == nil || attempt >= maxAttempts ? nil : retryBase * pow(2, Double(attempt - 1))
        TeamGateMetrics.logoutDelivery(outcome: failure == nil ? "delivered" : retryIn == nil ? "gave_up" : "failed")
        if let failure { logger.notice("A back-channel logout failed", metadata: ["app": "\(delivery.clientID)", "error": "\(failure)"]) }
        do {
            try await store.recordLogoutAttempt(id: delivery.id, delivered: failure == nil, status: status, error: failure, at: clock.now(), retryIn: retryIn)
        } catch {
            logger.error("Recording a back-channel logout attempt failed", metadata: ["delivery": "\(delivery.id)"])
        }
    }
}

extension BackChannelLogouts: CustomStringConvertible {
    public var description: String { "BackChannelLogouts" }
}
