import Foundation

/// How long records that only serve a short purpose are kept before `Housekeeping` deletes them.
public enum Retention {
    /// An Idempotency-Key's answer is replayed for this long.
    public static let idempotencyReplay: TimeInterval = 24 * 3600
    /// An expired sign-in code is kept this long, for a member asking why theirs did not work.
    public static let expiredCodes: TimeInterval = 3600
}

/// How long history is kept before `Housekeeping` deletes it (the `*RetentionDays` settings): without a bound, the
/// tables a key holder or a busy team makes grow for ever.
public struct HistoryRetention: Sendable, Equatable {
    public var auditEventDays: Int
    /// Counted from a session's end, or from its expiry for one that was never ended.
    public var endedSessionDays: Int
    /// Counted from when the delivery was queued, whatever became of it.
    public var webhookDeliveryDays: Int

    public init(auditEventDays: Int = 365, endedSessionDays: Int = 90, webhookDeliveryDays: Int = 30) {
        self.auditEventDays = auditEventDays
        self.endedSessionDays = endedSessionDays
        self.webhookDeliveryDays = webhookDeliveryDays
    }
}
