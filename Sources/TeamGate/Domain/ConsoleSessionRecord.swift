import Foundation

/// A console session as stored: a session of its own kind, made only by the console's sign-in, so a device's
/// token is never a console cookie and a console cookie is never a device's bearer token.
public struct ConsoleSessionRecord: Sendable, Equatable {
    public let live: LiveSession
    public let createdAt: Date
    /// The last use any instance recorded (coalesced: `ConsolePolicy.useRecordingInterval`).
    public let lastUsedAt: Date
    /// When a one-time code was last confirmed for this session (the sign-in, or a fresh code since).
    public let codeConfirmedAt: Date
}

/// How long a console session lasts, unused and in all, and how recent a code must be for the actions that
/// hand out a secret (an API key, a webhook's signing secret).
public struct ConsolePolicy: Sendable, Equatable {
    public var idleTimeout: TimeInterval = 30 * 60
    public var lifetime: TimeInterval = 12 * 3600
    public var freshCodeWindow: TimeInterval = 5 * 60
    /// A use moves the idle deadline on disk at most this often, so instances agree without a write per page.
    public var useRecordingInterval: TimeInterval = 60

    public init() {}

    /// Whether the session still opens the console at `now`: neither idle too long nor past its lifetime.
    public func admits(_ record: ConsoleSessionRecord, at now: Date) -> Bool {
        record.live.expiresAt > now && now.timeIntervalSince(record.lastUsedAt) < idleTimeout
    }

    public func needsUseRecorded(_ record: ConsoleSessionRecord, at now: Date) -> Bool {
        now.timeIntervalSince(record.lastUsedAt) >= useRecordingInterval
    }

    public func hasFreshCode(_ record: ConsoleSessionRecord, at now: Date) -> Bool {
        now.timeIntervalSince(record.codeConfirmedAt) < freshCodeWindow
    }
}
