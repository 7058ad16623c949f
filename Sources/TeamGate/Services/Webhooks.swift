import Foundation
import Logging
import ServiceLifecycle

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Managing an organisation's webhooks.
public struct Webhooks: Sendable {
    let store: any TeamGateStore
    let clock: WallClock
    /// Hosts webhooks may point at; nil allows any. Guards against a key holder aiming deliveries at internal services.
    let allowedHosts: Set<String>?

    public init(store: any TeamGateStore, clock: WallClock = .system, allowedHosts: Set<String>? = nil) {
        self.store = store
        self.clock = clock
        self.allowedHosts = allowedHosts
    }

    /// Registers a webhook; its signing secret is in the returned value, and shown only now.
    public func create(organizationID: String, url text: String, events: [WebhookEvent], origin: RequestOrigin) async throws -> Webhook {
        var problems: [String] = []
        let url = URL(string: text)
        if url == nil || !["http", "https"].contains(url?.scheme?.lowercased() ?? "") || (url?.host ?? "").isEmpty || text.count > 2000 {
            problems.append("url must be an http or https URL")
        } else if let allowedHosts, let host = url?.host?.lowercased(), !allowedHosts.contains(host) {
            problems.append("url must point at one of this server's allowed webhook hosts: \(allowedHosts.sorted().joined(separator: ", "))")
        }
        if events.isEmpty { problems.append("events should not be empty") }
        guard problems.isEmpty, let url else { throw TeamGateError.validation(problems) }
        let webhook = Webhook(
            id: SecretToken.identifier(prefix: "whk_"), organizationID: organizationID, url: url,
            events: Array(Set(events)).sorted { $0.rawValue < $1.rawValue },
            secret: SecretToken.make(prefix: "whsec_"), createdAt: clock.now())
        try await store.insertWebhook(webhook, origin: origin)
        return webhook
    }

    public func list(organizationID: String) async throws -> [Webhook] {
        try await store.webhooks(organizationID: organizationID)
    }

    public func delete(organizationID: String, id: String, origin: RequestOrigin) async throws {
        guard try await store.deleteWebhook(id: id, organizationID: organizationID, at: clock.now(), origin: origin) else {
            throw TeamGateError.notFound("Webhook not found")
        }
    }

    public func deliveries(organizationID: String, id: String, limit: Int = 50) async throws -> [WebhookDelivery] {
        guard let deliveries = try await store.deliveries(webhookID: id, organizationID: organizationID, limit: limit) else {
            throw TeamGateError.notFound("Webhook not found")
        }
        return deliveries
    }

    /// `X-TeamGate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: signing the time
    /// with the body lets a receiver refuse replays of an old delivery.
    public static func signature(body: String, secret: String, timestamp: Int) -> String {
        "t=\(timestamp),v1=" + WebhookSignature.hex(body: Data("\(timestamp).\(body)".utf8), secret: secret)
    }
}

/// Sends queued deliveries in the background, retrying with exponential backoff; nothing an API call
/// waits on. Runs as a service of the application.
public struct WebhookDispatcher: Service {
    let store: any TeamGateStore
    let clock: WallClock
    let logger: Logger
    /// First retry after this many seconds, then doubling.
    let retryBase: TimeInterval
    let maxAttempts: Int
    let pollInterval: Duration

    public init(
        store: any TeamGateStore, clock: WallClock = .system, logger: Logger, retryBase: TimeInterval = 2, maxAttempts: Int = 8,
        pollInterval: Duration = .milliseconds(200)
    ) {
        self.store = store
        self.clock = clock
        self.logger = logger
        self.retryBase = retryBase
        self.maxAttempts = maxAttempts
        self.pollInterval = pollInterval
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                // The lease outlasts an attempt's 10 s timeout.
                let due = try await store.claimDueDeliveries(at: clock.now(), limit: 50, lease: 60)
                await withTaskGroup(of: Void.self) { group in
                    for (delivery, webhook) in due {
                        group.addTask { await deliver(delivery, to: webhook) }
                    }
                }
            } catch {
                logger.error("Webhook dispatch failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: pollInterval)
        }
    }

    func deliver(_ delivery: WebhookDelivery, to webhook: Webhook) async {
        let timestamp = Int(clock.now().timeIntervalSince1970)
        var request = URLRequest(url: webhook.url, timeoutInterval: 10)
        request.httpMethod = "POST"
        request.httpBody = Data(delivery.payload.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue(delivery.event.rawValue, forHTTPHeaderField: "X-TeamGate-Event")
        request.setValue(delivery.id, forHTTPHeaderField: "X-TeamGate-Delivery")
        request.setValue(
            Webhooks.signature(body: delivery.payload, secret: webhook.secret, timestamp: timestamp), forHTTPHeaderField: "X-TeamGate-Signature")
        var status: Int?
        var failure: String?
        do {
            let (_, response) = try await URLSession.shared.data(for: request)
            status = (response as? HTTPURLResponse)?.statusCode
            if !(200..<300).contains(status ?? 0) { failure = "HTTP \(status ?? 0)" }
        } catch {
            failure = "unreachable"
        }
        let attempt = delivery.attempts + 1
        let now = clock.now()
        let next: Date? = failure == nil || attempt >= maxAttempts ? nil : now.addingTimeInterval(retryBase * pow(2, Double(attempt - 1)))
        do {
            try await store.recordDeliveryAttempt(
                id: delivery.id, delivered: failure == nil, status: status, error: failure, at: now, nextAttemptAt: next)
        } catch {
            logger.error("Recording a webhook attempt failed", metadata: ["delivery": "\(delivery.id)"])
        }
    }
}
