import Foundation

/// Deleting old history in batches, so the writer is never held long: each call deletes at most `limit` rows and
/// says how many it deleted.
public protocol RetentionStore: Sendable {
    /// Audit events that occurred before `date`, oldest first.
    func pruneAuditEvents(occurredBefore date: Date, limit: Int) async throws -> Int
    /// Sessions ended before `date`, and sessions never ended that expired before it.
    func pruneClosedSessions(closedBefore date: Date, limit: Int) async throws -> Int
    /// Webhook deliveries queued before `date`, delivered, failed or still pending.
    func pruneWebhookDeliveries(createdBefore date: Date, limit: Int) async throws -> Int
    /// Folds up to `limit` of the oldest session ends, appended as records, into their sessions' rows, in one
    /// transaction; says how many it folded. `onlyIfIdle` folds nothing while the writer has writes waiting.
    func foldSessionEnds(limit: Int, onlyIfIdle: Bool) async throws -> Int
    /// Session ends appended and not yet folded, as this instance knows them.
    var pendingSessionEnds: Int { get }
}
