import Foundation
import Testing

@testable import TeamGate

@Suite("Session table")
struct SessionTableTests {
    static func key(_ number: Int) -> SessionIndex.TokenKey {
        SessionIndex.TokenKey(SecretToken.hash(String(number)))
    }

    static func entry(_ number: Int) -> SessionIndex.Entry {
        SessionIndex.Entry(sessionID: .empty, memberSlot: UInt32(number), expiresAt: UInt32(number))
    }

    @Test("200,000 random inserts, replacements and removals agree with a Dictionary at every step's end")
    func agreesWithDictionary() {
        var table = SessionTable()
        var model: [Int: UInt32] = [:]
        var generator = SystemRandomNumberGenerator()
        for step in 0..<200_000 {
            let number = Int.random(in: 0..<20_000, using: &generator)
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<5:
                table.insert(Self.entry(step), for: Self.key(number))
                model[number] = UInt32(step)
            case 5..<9:
                #expect(table.remove(Self.key(number))?.memberSlot == model.removeValue(forKey: number))
            default:
                #expect(table[Self.key(number)]?.memberSlot == model[number])
            }
        }
        #expect(table.count == model.count)
        for number in 0..<20_000 {
            #expect(table[Self.key(number)]?.memberSlot == model[number])
        }
    }

    @Test("a slot is 36 bytes, and a table filled to what it reserved stays at 85 % without growing")
    func compact() {
        #expect(MemoryLayout<SessionTable.Slot>.stride == 36)
        var table = SessionTable()
        table.reserve(100_000)
        let reserved = table.bytes
        for number in 0..<100_000 { table.insert(Self.entry(number), for: Self.key(number)) }
        #expect(table.bytes == reserved)
        #expect(Double(table.bytes) / 36 / 100_000 < 1 / 0.84)
        // Emptied and filled again, it neither grows nor loses anything.
        for number in 0..<100_000 { table.remove(Self.key(number)) }
        #expect(table.count == 0)
        for number in 0..<100_000 { table.insert(Self.entry(number), for: Self.key(number)) }
        #expect(table.bytes == reserved && table.count == 100_000)
        #expect((0..<100_000).allSatisfy { table[Self.key($0)]?.memberSlot == UInt32($0) })
    }
}
