import Foundation

/// A member's record in `MemberTable`'s arena: a fixed part, then the id (12 bytes when compact), then the strings.
enum MemberRecord {
    static let idPrefix = "mem_"

    /// Which optional fields a member record holds.
    enum Flag {
        static let email: UInt8 = 1
        static let reportingManager: UInt8 = 2
        static let lockedUntil: UInt8 = 4
        static let removedAt: UInt8 = 8
        /// The id is `mem_` and 16 base64url characters, kept as its 12 bytes.
        static let compactID: UInt8 = 16
    }

    /// Reads a member record field by field.
    struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var position: Int

        mutating func byte() -> UInt8 {
            defer { position += 1 }
            return bytes[position]
        }

        mutating func word() -> UInt32 {
            var value: UInt32 = 0
            for shift in stride(from: 0, to: 32, by: 8) { value |= UInt32(byte()) << UInt32(shift) }
            return value
        }

        mutating func time() -> Date {
            var bits: UInt64 = 0
            for shift in stride(from: 0, to: 64, by: 8) { bits |= UInt64(byte()) << UInt64(shift) }
            return Date(timeIntervalSinceReferenceDate: Double(bitPattern: bits))
        }

        mutating func stringBytes() -> UnsafeBufferPointer<UInt8> {
            var length = 0
            var shift = 0
            while true {
                let next = byte()
                length |= Int(next & 0x7F) << shift
                guard next & 0x80 != 0 else { break }
                shift += 7
            }
            defer { position += length }
            return UnsafeBufferPointer(rebasing: bytes[position..<(position + length)])
        }

        mutating func string() -> String {
            String(decoding: stringBytes(), as: UTF8.self)
        }

        mutating func bytes(_ count: Int) -> UnsafeBufferPointer<UInt8> {
            defer { position += count }
            return UnsafeBufferPointer(rebasing: bytes[position..<(position + count)])
        }

        /// The member id, however it is kept.
        mutating func id(flags: UInt8) -> String {
            guard flags & Flag.compactID != 0 else { return string() }
            return CompactIdentifier(reading: bytes(12)).text(prefix: MemberRecord.idPrefix)
        }

        /// Skips the fixed part; returns the flags.
        @discardableResult
        mutating func skipToID() -> UInt8 {
            position += 5
            let flags = byte()
            position += 8 + (flags & Flag.lockedUntil != 0 ? 8 : 0) + (flags & Flag.removedAt != 0 ? 8 : 0)
            return flags
        }
    }
}
