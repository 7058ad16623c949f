import Foundation

/// Managing an organisation's webhooks.
public struct Webhooks: Sendable {
    let store: any TeamGateStore
    let transactions: Transactions
    let clock: WallClock
    let targets: WebhookTargets
    /// The most webhooks one organisation may have: each is a receiver the dispatcher serves, so one key holder
    /// with thousands would take the deliveries' time from every other organisation.
    var perOrganization = 20

    /// Registers a webhook; its signing secret is in the returned value, and shown only now.
    public func create(organizationID: String, url text: String, events: [WebhookEvent], origin: RequestOrigin) async throws -> Webhook {
        try TeamRules.checkManages(.webhooks, actor: origin.actor, organizationID: organizationID)
        var problems: [String] = []
        let url = URL(string: text)
        if url == nil || !["http", "https"].contains(url?.scheme?.lowercased() ?? "") || (url?.host ?? "").isEmpty || text.count > 2000 {
            problems.append("url must be an http or https URL")
        } else if let url, let problem = await targets.problem(with: url) {
            problems.append(problem)
        }
        if events.isEmpty { problems.append("events should not be empty") }
        guard problems.isEmpty, let url else { throw TeamGateError.validation(problems) }
        let webhook = Webhook(
            id: SecretToken.identifier(prefix: "whk_"), organizationID: organizationID, url: url,
            events: Array(Set(events)).sorted { $0.rawValue < $1.rawValue },
            secret: SecretToken.make(prefix: "whsec_"), createdAt: clock.now())
        let limit = perOrganization
        try await transactions.run { work in
            guard try work.lockedWebhookCount(organizationID: organizationID) < limit else { throw TeamGateError.webhookLimitReached(limit: limit) }
            try work.insertWebhook(webhook)
            try work.appendAudit(
                .make(.webhookCreated, organizationID: organizationID, at: webhook.createdAt, origin: origin, reason: webhook.url.absoluteString))
        }
        return webhook
    }

    public func list(organizationID: String, origin: RequestOrigin) async throws -> [Webhook] {
        try TeamRules.checkManages(.webhooks, actor: origin.actor, organizationID: organizationID)
        return try await store.webhooks(organizationID: organizationID)
    }

    public func delete(organizationID: String, id: String, origin: RequestOrigin) async throws {
        try TeamRules.checkManages(.webhooks, actor: origin.actor, organizationID: organizationID)
        let now = clock.now()
        try await transactions.run { work in
            // Deliveries still queued for it are dropped: the organisation asked not to be told any more.
            guard try work.deleteWebhook(id: id, organizationID: organizationID, at: now, dropReason: "webhook deleted") else {
                throw TeamGateError.webhookNotFound
            }
            try work.appendAudit(.make(.webhookDeleted, organizationID: organizationID, at: now, origin: origin, reason: id))
        }
    }

    /// The newest `limit` deliveries of each webhook of the organisation, by webhook id.
    public func recentDeliveries(organizationID: String, limit: Int, origin: RequestOrigin) async throws -> [String: [WebhookDelivery]] {
        try TeamRules.checkManages(.webhooks, actor: origin.actor, organizationID: organizationID)
        return try await store.recentDeliveries(organizationID: organizationID, limit: limit)
    }

    public func deliveries(organizationID: String, id: String, limit: Int = 50, origin: RequestOrigin) async throws -> [WebhookDelivery] {
        try TeamRules.checkManages(.webhooks, actor: origin.actor, organizationID: organizationID)
        guard let deliveries = try await store.deliveries(webhookID: id, organizationID: organizationID, limit: limit) else {
            throw TeamGateError.webhookNotFound
        }
        return deliveries
    }

    /// `X-TeamGate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: signing the time
    /// with the body lets a receiver refuse replays of an old delivery.
    public static func signature(body: String, secret: String, timestamp: Int) -> String {
        "t=\(timestamp),v1=" + WebhookSignature.hex(body: Data("\(timestamp).\(body)".utf8), secret: secret)
    }
}

/// Where webhooks may point. A key holder chooses the URL, so without this rule deliveries (and the
/// statuses they record) would map the operator's private network: only public addresses are reached,
/// checked when the webhook is made and again at each delivery, where the connection goes to the very
/// address that was checked (DNS may answer differently the second time). The operator allows hosts by
/// name; those are then reached even on a private address.
public struct WebhookTargets: Sendable {
    /// Hosts the operator allows (exact names or address literals, lowercased); nil: any public host.
    public let allowedHosts: Set<String>?
    let resolver: any HostResolver

    public init(allowedHosts: Set<String>? = nil, resolver: any HostResolver = SystemHostResolver()) {
        self.allowedHosts = allowedHosts
        self.resolver = resolver
    }

    /// What a delivery may do.
    public enum Verdict: Sendable, Equatable {
        /// Connect to this address (nil: an allowed host, resolved as usual).
        case connect(IPAddress?)
        /// Do not connect; the text says why, for the delivery's record.
        case refused(String)
        /// The name does not resolve now; a later attempt may succeed.
        case unresolvable
    }

    static let privateTarget =
        "url must not point at a private, loopback, link-local or otherwise internal address (the server's operator can allow a host with --webhook-allowed-hosts)"

    /// Why `url` may not be a webhook, or nil. A name that does not resolve now is accepted: every delivery checks again.
    func problem(with url: URL) async -> String? {
        guard let host = Self.host(of: url) else { return "url must be an http or https URL" }
        if let allowedHosts {
            guard allowedHosts.contains(host) else {
                return "url must point at one of this server's allowed webhook hosts: \(allowedHosts.sorted().joined(separator: ", "))"
            }
            return nil
        }
        if let literal = IPAddress(literal: host) { return literal.isPublic ? nil : Self.privateTarget }
        do {
            return try await resolver.addresses(of: host).allSatisfy(\.isPublic) ? nil : Self.privateTarget
        } catch {
            // Not resolvable now (a name registered later, DNS down): each delivery checks again.
            return nil
        }
    }

    /// Where a delivery to `url` may connect, decided now.
    func verdict(for url: URL) async -> Verdict {
        guard let host = Self.host(of: url) else { return .refused("refused: not an http or https URL") }
        if let allowedHosts {
            return allowedHosts.contains(host) ? .connect(nil) : .refused("refused: the host is not in --webhook-allowed-hosts")
        }
        let addresses: [IPAddress]
        if let literal = IPAddress(literal: host) {
            addresses = [literal]
        } else {
            do {
                addresses = try await resolver.addresses(of: host)
            } catch {
                return .unresolvable
            }
        }
        // Every answer must be public: a connection may be made to any of them.
        guard let first = addresses.first, addresses.allSatisfy(\.isPublic) else {
            return .refused("refused: the host resolves to a private or internal address")
        }
        return .connect(first)
    }

    /// The address a connection to `url` would likely use, for counting receivers by address: the literal, or the
    /// resolver's first answer; nil when the name does not resolve now (the delivery itself then says why).
    func likelyAddress(of url: URL) async -> IPAddress? {
        guard let host = Self.host(of: url) else { return nil }
        if let literal = IPAddress(literal: host) { return literal }
        do {
            return try await resolver.addresses(of: host).first
        } catch {
            return nil
        }
    }

    /// The URL's host, lowercased and without IPv6 brackets; nil unless the URL is http(s) with a host.
    static func host(of url: URL) -> String? {
        guard ["http", "https"].contains(url.scheme?.lowercased() ?? ""), var host = url.host?.lowercased(), !host.isEmpty else { return nil }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host
    }
}
