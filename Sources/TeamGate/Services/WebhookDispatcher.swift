import AsyncHTTPClient
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Sends queued deliveries in the background, retrying with exponential backoff; nothing an API call
/// waits on. Runs as a service of the application.
///
/// Receivers are isolated from one another: deliveries run concurrently, at most `maxInFlight` in all,
/// `maxInFlightPerOrganization` for one organisation and `maxInFlightPerReceiver` to one receiver, each under its
/// own deadline, and a delivery whose receiver or organisation is already busy is handed back for a later round
/// instead of waiting in a slot. A receiver is counted both by its name (`scheme://host:port`) and by the address
/// that name resolves to, so many names pointing at one hanging address share one receiver's budget. Deliveries
/// are claimed in turns by organisation (`claimDueDeliveries`). A receiver that hangs, or an organisation whose
/// receivers all do, therefore delays only its own deliveries; the others go out on the next poll.
public struct WebhookDispatcher: Service {
    let store: any TeamGateStore
    let clock: WallClock
    let logger: Logger
    let targets: WebhookTargets
    /// First retry after this many seconds, then doubling.
    let retryBase: TimeInterval
    let maxAttempts: Int
    let pollInterval: Duration
    let maxInFlight: Int
    let maxInFlightPerReceiver: Int
    let maxInFlightPerOrganization: Int
    /// The whole exchange with a receiver, connection to last byte read.
    let deadline: Duration

    public init(
        store: any TeamGateStore, clock: WallClock = .system, logger: Logger, targets: WebhookTargets = WebhookTargets(),
        retryBase: TimeInterval = 2, maxAttempts: Int = 8, pollInterval: Duration = .milliseconds(200), maxInFlight: Int = 64,
        maxInFlightPerReceiver: Int = 4, maxInFlightPerOrganization: Int = 32, deadline: Duration = .seconds(10)
    ) {
        self.store = store
        self.clock = clock
        self.logger = logger
        self.targets = targets
        self.retryBase = retryBase
        self.maxAttempts = maxAttempts
        self.pollInterval = pollInterval
        self.maxInFlight = maxInFlight
        self.maxInFlightPerReceiver = maxInFlightPerReceiver
        self.maxInFlightPerOrganization = maxInFlightPerOrganization
        self.deadline = deadline
    }

    /// On SIGTERM no delivery is claimed any more and those in flight have `ShutdownGrace` to end; one cut
    /// short is handed back to the queue, due at once, for the next instance to send.
    public func run() async throws {
        await ShutdownGrace.run { [self] in await dispatch() }
    }

    private func dispatch() async {
        let lanes = DeliveryLanes()
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                let free = maxInFlight - lanes.total
                if free > 0 {
                    do {
                        // The lease outlasts an attempt's deadline, so no other instance sends it meanwhile.
                        let lease = TimeInterval(deadline.milliseconds) / 1000 + 50
                        for (delivery, webhook) in try await store.claimDueDeliveries(at: clock.now(), limit: free, lease: lease) {
                            let held = [
                                DeliveryLanes.Lane(Self.receiver(of: webhook.url), limit: maxInFlightPerReceiver),
                                DeliveryLanes.Lane("organization " + webhook.organizationID, limit: maxInFlightPerOrganization),
                            ]
                            if lanes.enter(held, newDelivery: true) {
                                group.addTask {
                                    await resolveAndDeliver(delivery, to: webhook, lanes: lanes)
                                    lanes.leave(held, endingDelivery: true)
                                }
                            } else {
                                try await store.releaseDeliveryClaim(id: delivery.id, dueIn: 1, at: clock.now())
                            }
                        }
                    } catch {
                        logger.error("Webhook dispatch failed", metadata: ["error": "\(error)"])
                    }
                }
                do {
                    try await Sleep.for(pollInterval)
                } catch {
                    break  // cancelled: the service is stopping
                }
            }
        }
    }

    /// Who answers a URL: its scheme, host and port.
    static func receiver(of url: URL) -> String {
        "\(url.scheme?.lowercased() ?? "")://\(url.host?.lowercased() ?? ""):\(url.port ?? -1)"
    }

    /// Who answers at an address: the address and port a name resolved to.
    static func receiver(at address: IPAddress, for url: URL) -> String {
        "address \(address) port \(url.port ?? (url.scheme?.lowercased() == "https" ? 443 : 80))"
    }

    /// Resolves the receiver's name, then sends unless the address it resolved to is already busy (under other names).
    func resolveAndDeliver(_ delivery: WebhookDelivery, to webhook: Webhook, lanes: DeliveryLanes) async {
        let verdict = await targets.verdict(for: webhook.url)
        guard case .connect(let checked) = verdict else { return await deliver(delivery, to: webhook, verdict: verdict) }
        // An allowed host is connected to by name; its address is looked up here only to count it.
        let resolved: IPAddress? = if let checked { checked } else { await targets.likelyAddress(of: webhook.url) }
        guard let address = resolved else { return await deliver(delivery, to: webhook, verdict: verdict) }
        let lane = DeliveryLanes.Lane(Self.receiver(at: address, for: webhook.url), limit: maxInFlightPerReceiver)
        guard lanes.enter([lane], newDelivery: false) else {
            do {
                try await store.releaseDeliveryClaim(id: delivery.id, dueIn: 1, at: clock.now())
            } catch {
                logger.error("Handing back a webhook delivery failed; it is sent once its lease ends", metadata: ["delivery": "\(delivery.id)"])
            }
            return
        }
        await deliver(delivery, to: webhook, verdict: verdict)
        lanes.leave([lane], endingDelivery: false)
    }

    func deliver(_ delivery: WebhookDelivery, to webhook: Webhook, verdict: WebhookTargets.Verdict) async {
        var status: Int?
        var failure: String?
        switch verdict {
        case .refused(let reason):
            failure = reason
        case .unresolvable:
            failure = "unreachable: the host does not resolve"
        case .connect(let address):
            let timestamp = Int(clock.now().timeIntervalSince1970)
            let post = OutgoingPost(
                url: webhook.url,
                headers: [
                    ("Content-Type", "application/json"), ("User-Agent", "TeamGate-Webhooks"), ("X-TeamGate-Event", delivery.event.rawValue),
                    ("X-TeamGate-Delivery", delivery.id),
                    ("X-TeamGate-Signature", Webhooks.signature(body: delivery.payload, secret: webhook.secret, timestamp: timestamp)),
                ],
                body: Data(delivery.payload.utf8), connectTo: address, deadline: deadline)
            do {
                let answered = try await post.send()
                status = answered
                if !(200..<300).contains(answered) { failure = "HTTP \(answered)" }
            } catch OutgoingPostError.deadlineExceeded {
                failure = "timed out"
            } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
                failure = "timed out"
            } catch {
                failure = "unreachable"
            }
        }
        if Task.isCancelled {
            await handBack(delivery)
            return
        }
        let attempt = delivery.attempts + 1
        let now = clock.now()
        let retryIn: TimeInterval? = failure == nil || attempt >= maxAttempts ? nil : retryBase * pow(2, Double(attempt - 1))
        TeamGateMetrics.webhookDelivery(outcome: failure == nil ? "delivered" : retryIn == nil ? "gave_up" : "failed")
        do {
            try await store.recordDeliveryAttempt(
                id: delivery.id, delivered: failure == nil, status: status, error: failure, at: now, retryIn: retryIn)
        } catch {
            logger.error("Recording a webhook attempt failed", metadata: ["delivery": "\(delivery.id)"])
        }
    }
}

extension WebhookDispatcher {
    /// A delivery cut short by shutdown: not an attempt, due again at once.
    func handBack(_ delivery: WebhookDelivery) async {
        do {
            try await store.releaseDeliveryClaim(id: delivery.id, dueIn: 0, at: clock.now())
        } catch {
            logger.error("Handing back a webhook delivery failed; it is sent once its lease ends", metadata: ["delivery": "\(delivery.id)"])
        }
    }
}

/// Deliveries in flight, in all and per lane (a receiver's name, its address, an organisation).
final class DeliveryLanes: Sendable {
    /// A budget a delivery holds a place in.
    struct Lane: Sendable {
        let key: String
        let limit: Int

        init(_ key: String, limit: Int) {
            self.key = key
            self.limit = limit
        }
    }

    private struct Counts {
        var deliveries = 0
        var perLane: [String: Int] = [:]
    }

    private let counts = Mutex(Counts())

    var total: Int { counts.withLock { $0.deliveries } }

    /// Takes a place in every lane, or in none when one of them is full. `newDelivery`: a delivery not counted yet.
    func enter(_ lanes: [Lane], newDelivery: Bool) -> Bool {
        counts.withLock { counts in
            guard lanes.allSatisfy({ counts.perLane[$0.key, default: 0] < $0.limit }) else { return false }
            for lane in lanes { counts.perLane[lane.key, default: 0] += 1 }
            if newDelivery { counts.deliveries += 1 }
            return true
        }
    }

    func leave(_ lanes: [Lane], endingDelivery: Bool) {
        counts.withLock { counts in
            for lane in lanes {
                counts.perLane[lane.key, default: 1] -= 1
                if counts.perLane[lane.key] == 0 { counts.perLane.removeValue(forKey: lane.key) }
            }
            if endingDelivery { counts.deliveries -= 1 }
        }
    }
}

// ServiceLifecycle logs each service by its description; this one says what it is and nothing it holds.
extension WebhookDispatcher: CustomStringConvertible {
    public var description: String { "WebhookDispatcher" }
}
