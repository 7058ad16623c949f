import Foundation
import Synchronization

extension SignIn {
    /// A number as asked for from one address block.
    struct NumberAtAddress: Hashable, Sendable {
        let digits: String
        let address: AddressBlock
    }

    /// The in-memory counters behind `Policy`'s limits; they exist for every number, member or not, and count
    /// addresses by `AddressBlock` (an IPv6 client by its /64).
    final class Limits: Sendable {
        let codesPerNumberAndAddress: TokenBuckets<NumberAtAddress>
        let codesPerAddress: TokenBuckets<AddressBlock>
        let wrongCodesPerNumberAndAddress: TokenBuckets<NumberAtAddress>
        let wrongCodesPerAddress: TokenBuckets<AddressBlock>
        let wrongCodesPerNumber: NumberThrottle

        init(_ policy: Policy) {
            codesPerNumberAndAddress = TokenBuckets(capacity: policy.codesPerNumberAndAddress, per: policy.codeWindow)
            codesPerAddress = TokenBuckets(capacity: policy.codesPerAddress, per: policy.codeWindow)
            wrongCodesPerNumberAndAddress = TokenBuckets(capacity: policy.wrongCodesPerNumberAndAddress, per: policy.codeWindow)
            wrongCodesPerAddress = TokenBuckets(capacity: policy.wrongCodesPerAddress, per: 3600)
            wrongCodesPerNumber = NumberThrottle(failuresPerPause: policy.wrongCodesPerNumberBeforePause, firstPause: policy.firstNumberPause)
        }
    }
}

/// Wrong codes for one number from every address together: the ceiling no spread of addresses can dodge
/// (NIST SP 800-63B §5.2.2: at most 100 consecutive failed attempts on one account). Every `failuresPerPause`
/// wrong codes in a row, the number pauses — no code is asked for or tried for it, from anywhere — for a pause
/// that doubles each time, from `firstPause` up to a day: the 100th wrong code in a row comes after 8½ hours of
/// pauses and starts 8½ more, about 110 a day at most; the member is slowed down, never locked out. A right code ends the run. It counts strangers' numbers alike,
/// so a pause says nothing about membership. Kept per instance, like the other limits.
final class NumberThrottle: Sendable {
    private struct Run {
        var failures: Int
        /// Monotonic seconds (`WallClock.ticks`).
        var lastFailure: TimeInterval
        var pausedUntil: TimeInterval
    }

    let failuresPerPause: Int
    let firstPause: TimeInterval
    static let longestPause: TimeInterval = 24 * 3600
    /// A run of wrong codes this long quiet is forgotten.
    static let forgetAfter: TimeInterval = 24 * 3600
    private let runs = Mutex<(entries: [String: Run], recorded: Int)>(([:], 0))

    init(failuresPerPause: Int, firstPause: TimeInterval) {
        self.failuresPerPause = max(1, failuresPerPause)
        self.firstPause = firstPause
    }

    /// The seconds until `digits` may be tried again; nil when it may be now.
    func wait(_ digits: String, at now: TimeInterval) -> TimeInterval? {
        guard let run = runs.withLock({ $0.entries[digits] }), run.pausedUntil > now else { return nil }
        return run.pausedUntil - now
    }

    /// Counts one wrong code; returns the pause it starts (the run reached a multiple of `failuresPerPause`), if any.
    func recordFailure(_ digits: String, at now: TimeInterval) -> (failures: Int, pause: TimeInterval)? {
        runs.withLock { state in
            state.recorded += 1
            // Runs quiet long enough are dropped now and then, so numbers typed at random cannot grow the table for ever.
            if state.recorded % 4096 == 0 {
                state.entries = state.entries.filter { now - $0.value.lastFailure < Self.forgetAfter || $0.value.pausedUntil > now }
            }
            var run = state.entries[digits].flatMap { now - $0.lastFailure < Self.forgetAfter ? $0 : nil } ?? Run(failures: 0, lastFailure: now, pausedUntil: 0)
            run.failures += 1
            run.lastFailure = now
            defer { state.entries[digits] = run }
            guard run.failures % failuresPerPause == 0 else { return nil }
            let doublings = min(run.failures / failuresPerPause - 1, 20)
            let pause = min(firstPause * Double(1 << doublings), Self.longestPause)
            run.pausedUntil = now + pause
            return (run.failures, pause)
        }
    }

    /// A right code: the run of wrong ones is over.
    func recordSuccess(_ digits: String) {
        _ = runs.withLock { $0.entries.removeValue(forKey: digits) }
    }
}
