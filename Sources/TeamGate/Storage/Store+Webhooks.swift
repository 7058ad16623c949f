import Foundation

public protocol WebhookStore: Sendable {
    func webhooks(organizationID: String) async throws -> [Webhook]
    /// Deliveries waiting for their first attempt or a retry, in every organisation (for `/metrics`).
    func pendingDeliveryCount() async throws -> Int
    func deliveries(webhookID: String, organizationID: String, limit: Int) async throws -> [WebhookDelivery]?
    /// The newest `limit` deliveries of each of the organisation's webhooks, by webhook id, in one read.
    func recentDeliveries(organizationID: String, limit: Int) async throws -> [String: [WebhookDelivery]]
    /// Pending deliveries due at `date`, with their webhook, oldest first, each claimed for `lease`
    /// seconds: another instance (or poll) does not get it again unless the attempt goes unrecorded.
    func claimDueDeliveries(at date: Date, limit: Int, lease: TimeInterval) async throws -> [(WebhookDelivery, Webhook)]
    func recordDeliveryAttempt(id: String, delivered: Bool, status: Int?, error: String?, at date: Date, nextAttemptAt: Date?) async throws
    /// Gives a claimed delivery back unsent, due again at `nextAttemptAt`; its attempts are unchanged.
    func releaseDeliveryClaim(id: String, nextAttemptAt: Date) async throws
}

public protocol IdempotencyStore: Sendable {
    /// The record for the key if it is younger than `notBefore`.
    func idempotencyRecord(organizationID: String, key: String, notBefore: Date) async throws -> IdempotencyRecord?
    func saveIdempotencyRecord(_ record: IdempotencyRecord, organizationID: String, key: String) async throws
    /// Deletes up to `limit` records created before `date`; returns how many it deleted.
    func pruneIdempotencyRecords(createdBefore date: Date, limit: Int) async throws -> Int
}
