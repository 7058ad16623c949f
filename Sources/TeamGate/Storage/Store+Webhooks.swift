import Foundation

public protocol WebhookStore: Sendable {
    func webhooks(organizationID: String) async throws -> [Webhook]
    /// Deliveries waiting for their first attempt or a retry, in every organisation (for `/metrics`).
    func pendingDeliveryCount() async throws -> Int
    func deliveries(webhookID: String, organizationID: String, limit: Int) async throws -> [WebhookDelivery]?
    /// The newest `limit` deliveries of each of the organisation's webhooks, by webhook id, in one read.
    func recentDeliveries(organizationID: String, limit: Int) async throws -> [String: [WebhookDelivery]]
    /// Pending deliveries due at `date`, with their webhook, taken in turns by organisation (each one's oldest, then
    /// each one's second, …) so one organisation's backlog does not delay the others', each claimed for `lease`
    /// seconds: another instance (or poll) does not get it again unless the attempt goes unrecorded.
    func claimDueDeliveries(at date: Date, limit: Int, lease: TimeInterval) async throws -> [(WebhookDelivery, Webhook)]
    /// Records an attempt made at `date`; a failed one is tried again `retryIn` seconds later (nil: never again).
    /// Where instances share the database, "later" is counted on the database's clock, as leases are.
    func recordDeliveryAttempt(id: String, delivered: Bool, status: Int?, error: String?, at date: Date, retryIn: TimeInterval?) async throws
    /// Gives a claimed delivery back unsent, due again `dueIn` seconds after `date` (on the database's clock where
    /// instances share it); its attempts are unchanged.
    func releaseDeliveryClaim(id: String, dueIn: TimeInterval, at date: Date) async throws
}

public protocol IdempotencyStore: Sendable {
    /// The record for the key if it is younger than `notBefore`.
    func idempotencyRecord(organizationID: String, key: String, notBefore: Date) async throws -> IdempotencyRecord?
    func saveIdempotencyRecord(_ record: IdempotencyRecord, organizationID: String, key: String) async throws
    /// Deletes up to `limit` records created before `date`; returns how many it deleted.
    func pruneIdempotencyRecords(createdBefore date: Date, limit: Int) async throws -> Int
}
