import Foundation
import Testing

@testable import TeamGate

@Suite("Sign-in limits no address block can dodge")
struct SignInLimitsTests {
    @Test("a number pauses every 10 wrong codes in a row, each pause twice the last, and a right code ends the run")
    func numberPauses() {
        let throttle = NumberThrottle(failuresPerPause: 10, firstPause: 60)
        var now: TimeInterval = 1_000
        var pauses: [TimeInterval] = []
        for _ in 1...40 {
            #expect(throttle.wait("919311111111", at: now) == nil)
            if let (_, pause) = throttle.recordFailure("919311111111", at: now) {
                pauses.append(pause)
                #expect(throttle.wait("919311111111", at: now + pause - 1) != nil)
                now += pause
            }
            now += 1
        }
        #expect(pauses == [60, 120, 240, 480])
        // Another number is not touched; a right code starts the count again.
        #expect(throttle.wait("919322222222", at: now) == nil)
        throttle.recordSuccess("919311111111")
        for _ in 1...9 { #expect(throttle.recordFailure("919311111111", at: now) == nil) }
        #expect(throttle.recordFailure("919311111111", at: now)?.pause == 60)
    }

    @Test("the hundredth wrong code in a row comes after 8½ hours of pauses and starts one as long; none is longer than a day")
    func hundredTakeHours() {
        let throttle = NumberThrottle(failuresPerPause: 10, firstPause: 60)
        var now: TimeInterval = 0
        var longest: TimeInterval = 0
        for _ in 1...100 {
            if let wait = throttle.wait("919311111111", at: now) { now += wait }
            if let (_, pause) = throttle.recordFailure("919311111111", at: now) { longest = max(longest, pause) }
        }
        #expect(now == 511 * 60)
        #expect(longest == 512 * 60)
        for _ in 101...300 {
            if let wait = throttle.wait("919311111111", at: now) { now += wait }
            if let (_, pause) = throttle.recordFailure("919311111111", at: now) { longest = max(longest, pause) }
        }
        #expect(longest == NumberThrottle.longestPause)
    }

    @Test("one address block may hold a hundredth of the code queue; another block still gets in")
    func queueIsFairPerBlock() {
        let queue = CodeQueue(capacity: 1_000)
        let phone = PhoneNumber(trustedDigits: "919311111111")
        let block = AddressBlock("2001:db8:1:2::1")
        for i in 0..<10 { #expect(queue.enqueue(phone, from: AddressBlock("2001:db8:1:2::\(i + 2)"))) }
        #expect(!queue.enqueue(phone, from: block))
        #expect(queue.enqueue(phone, from: AddressBlock("2001:db8:1:3::1")))
        queue.taken(from: block)
        #expect(queue.enqueue(phone, from: block))
    }
}
