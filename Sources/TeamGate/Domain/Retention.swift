import Foundation

/// How long records that only serve a short purpose are kept before `Housekeeping` deletes them.
public enum Retention {
    /// An Idempotency-Key's answer is replayed for this long.
    public static let idempotencyReplay: TimeInterval = 24 * 3600
    /// An expired sign-in code is kept this long, for a member asking why theirs did not work.
    public static let expiredCodes: TimeInterval = 3600
}
