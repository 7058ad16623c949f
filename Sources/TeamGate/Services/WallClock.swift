import Dispatch
import Foundation
import Synchronization

/// The time source of the services; tests pass their own to move time (code expiry, send limits).
///
/// Two readings: `now`, the date that is stored and compared with stored dates (expiry, lockouts, codes),
/// and `ticks`, seconds on a monotonic clock for what only measures intervals in memory (rate limits). A
/// test clock's ticks follow its dates, so moving its time moves both.
public struct WallClock: Sendable {
    public let now: @Sendable () -> Date
    public let ticks: @Sendable () -> TimeInterval

    public init(now: @escaping @Sendable () -> Date) {
        self.now = now
        self.ticks = { now().timeIntervalSinceReferenceDate }
    }

    public init(now: @escaping @Sendable () -> Date, ticks: @escaping @Sendable () -> TimeInterval) {
        self.now = now
        self.ticks = ticks
    }

    /// The system's time, never going back: a step back of the system clock (a bad NTP server, an operator,
    /// a VM restored) would revive expired sessions and end lockouts late; a step forward would refill every
    /// rate limit. So `now` follows the system clock forward, and through a step back goes on at the monotonic
    /// clock's pace from where it was, until the system clock catches up; rate limits use the monotonic clock.
    public static let system: WallClock = {
        let time = SteadyTime()
        return WallClock(now: { time.now() }, ticks: { SteadyTime.monotonicSeconds() })
    }()
}

/// A date that never goes back (`WallClock.system`).
final class SteadyTime: Sendable {
    private struct Reading {
        var date: Date
        var monotonic: TimeInterval
    }

    private let last = Mutex(Reading(date: Date(), monotonic: SteadyTime.monotonicSeconds()))

    func now() -> Date {
        let system = Date()
        let monotonic = Self.monotonicSeconds()
        return last.withLock { last in
            let carriedOn = last.date.addingTimeInterval(max(0, monotonic - last.monotonic))
            last = Reading(date: max(system, carriedOn), monotonic: monotonic)
            return last.date
        }
    }

    /// Seconds on the monotonic clock (libdispatch's uptime, CLOCK_MONOTONIC on Linux), which no setting of the
    /// system time moves.
    static func monotonicSeconds() -> TimeInterval {
        TimeInterval(DispatchTime.now().uptimeNanoseconds) / 1_000_000_000
    }
}
