import Foundation
import Testing

@testable import TeamGate

@Suite("Sleep")
struct SleepTests {
    @Test("a cancelled hour-long sleep ends at once and lets go of its timer")
    func cancelledSleepsLetGo() async throws {
        // setup: 2,000 tasks sleeping an hour each, their timers counted
        let count = Sleep.Count()
        let outcomes = try await Sleep.$count.withValue(count) {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<2_000 {
                    group.addTask {
                        do {
                            try await Sleep.for(.seconds(3600))
                            return false
                        } catch is CancellationError {
                            return true
                        }
                    }
                }
                // act: once every timer is scheduled, cancel them all
                while count.pending.load(ordering: .relaxed) < 2_000 { await Task.yield() }
                group.cancelAll()
                var cancelled: [Bool] = []
                for try await outcome in group { cancelled.append(outcome) }
                return cancelled
            }
        }

        // check: every sleep was ended by the cancellation, and no timer is left waiting for its hour
        #expect(outcomes.count == 2_000 && outcomes.allSatisfy { $0 })
        #expect(count.pending.load(ordering: .relaxed) == 0)
    }

    @Test("a sleep that is not cancelled lasts its duration")
    func sleepLasts() async throws {
        let count = Sleep.Count()
        let started = ContinuousClock.now
        try await Sleep.$count.withValue(count) { try await Sleep.for(.milliseconds(50)) }
        #expect(ContinuousClock.now - started >= .milliseconds(50))
        #expect(count.pending.load(ordering: .relaxed) == 0)
    }

    @Test("a task cancelled before it sleeps does not sleep")
    func cancelledBefore() async throws {
        let task = Task {
            while !Task.isCancelled { await Task.yield() }
            let started = ContinuousClock.now
            await Sleep.unlessCancelled(.seconds(3600))
            return ContinuousClock.now - started
        }
        task.cancel()
        #expect(await task.value < .seconds(60))
    }
}
