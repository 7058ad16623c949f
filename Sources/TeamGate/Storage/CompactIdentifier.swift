/// An identifier of `SecretToken.identifier`'s form (a prefix and 16 base64url characters, i.e. 12 random
/// bytes) kept as its 12 bytes: inline, where the text would be a 20-byte string on the heap.
struct CompactIdentifier: Sendable, Equatable {
    private let a: UInt32, b: UInt32, c: UInt32

    static let empty = CompactIdentifier(a: 0, b: 0, c: 0)

    private init(a: UInt32, b: UInt32, c: UInt32) {
        (self.a, self.b, self.c) = (a, b, c)
    }

    /// Nil when `text` is not `prefix` and 16 base64url characters: such an identifier is kept as text.
    init?(_ text: String, prefix: String) {
        self.init(utf8: text.utf8, prefix: prefix)
    }

    /// From the text's UTF-8 bytes, as a database hands them over.
    init?(utf8: some Collection<UInt8>, prefix: String) {
        guard utf8.count == prefix.utf8.count + 16, utf8.starts(with: prefix.utf8) else { return nil }
        var iterator = utf8.dropFirst(prefix.utf8.count).makeIterator()
        // Four characters of six bits are three bytes.
        func group() -> UInt32? {
            var group: UInt32 = 0
            for _ in 0..<4 {
                guard let character = iterator.next(), let value = Self.sextet(character) else { return nil }
                group = group << 6 | UInt32(value)
            }
            return group
        }
        guard let w0 = group(), let w1 = group(), let w2 = group(), let w3 = group() else { return nil }
        // Twelve bytes as three words: 4 groups of 24 bits.
        a = w0 << 8 | w1 >> 16
        b = (w1 & 0xFFFF) << 16 | w2 >> 8
        c = (w2 & 0xFF) << 24 | w3
    }

    /// Its 12 bytes, appended (to a member record).
    func append(to bytes: inout [UInt8]) {
        for word in [a, b, c] { withUnsafeBytes(of: word.littleEndian) { bytes.append(contentsOf: $0) } }
    }

    /// From the 12 bytes `append(to:)` wrote.
    init(reading bytes: UnsafeBufferPointer<UInt8>) {
        func word(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << UInt32(8 * $1) } }
        (a, b, c) = (word(0), word(4), word(8))
    }

    /// The identifier's text again.
    func text(prefix: String) -> String {
        let groups = (a >> 8, (a & 0xFF) << 16 | b >> 16, (b & 0xFFFF) << 8 | c >> 24, c & 0xFF_FFFF)
        let prefixLength = prefix.utf8.count
        return String(unsafeUninitializedCapacity: prefixLength + 16) { buffer in
            var position = buffer.initialize(fromContentsOf: prefix.utf8)
            for group in [groups.0, groups.1, groups.2, groups.3] {
                for shift in stride(from: 18, through: 0, by: -6) {
                    buffer[position] = Self.alphabet[Int(group >> UInt32(shift) & 0x3F)]
                    position += 1
                }
            }
            return position
        }
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    private static func sextet(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): character - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): character - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0") + 52
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        default: nil
        }
    }
}
