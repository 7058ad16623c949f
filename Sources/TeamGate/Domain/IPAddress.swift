import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An IPv4 or IPv6 address, as the C library reads it: what a URL's host really connects to.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    /// Sixteen bytes, network order.
    case v6([UInt8])

    /// Reads an address literal. IPv4 is read by `inet_aton`, so the forms a connection would also accept count:
    /// `2130706433`, `0x7f000001`, `0177.0.0.1` and `127.1` are all 127.0.0.1. Brackets around IPv6 are dropped.
    public init?(literal text: String) {
        var host = text
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        // A zone (`fe80::1%eth0`) names an interface, not another address.
        if let percent = host.firstIndex(of: "%") { host = String(host[..<percent]) }
        guard !host.isEmpty, host.utf8.count <= 64 else { return nil }
        if host.contains(":") {
            var address = in6_addr()
            guard inet_pton(AF_INET6, host, &address) == 1 else { return nil }
            self = .v6(withUnsafeBytes(of: &address) { Array($0) })
        } else {
            // Only characters an IPv4 literal can hold; anything else is a name to resolve.
            guard host.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == "x" || $0 == "X" }) else { return nil }
            var address = in_addr()
            guard inet_aton(host, &address) != 0 else { return nil }
            self = .v4(UInt32(bigEndian: withUnsafeBytes(of: &address) { $0.loadUnaligned(as: UInt32.self) }))
        }
    }

    /// The canonical text (`127.0.0.1`, `::1`), the form a connection is pinned to.
    public var description: String {
        switch self {
        case .v4(let value):
            return [24, 16, 8, 0].map { String((value >> UInt32($0)) & 0xff) }.joined(separator: ".")
        case .v6(let bytes):
            var address = in6_addr()
            withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes) }
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return "::" }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// The IPv4 address an IPv6 one carries (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`,
    /// NAT64 `64:ff9b::a.b.c.d`, 6to4 `2002:aabb:ccdd::`): a connection there reaches that IPv4 host.
    var embeddedIPv4: UInt32? {
        guard case .v6(let b) = self else { return nil }
        func word(_ i: Int) -> UInt32 { UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3]) }
        if b[0..<10].allSatisfy({ $0 == 0 }), b[10] == 0xff, b[11] == 0xff { return word(12) }
        if b[0..<12].allSatisfy({ $0 == 0 }), word(12) > 1 { return word(12) }
        if b[0..<12] == [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0] { return word(12) }
        if b[0] == 0x20, b[1] == 0x02 { return word(2) }
        return nil
    }

    /// False for every address that reaches inside the operator's network or nowhere in particular:
    /// loopback, RFC 1918, CGNAT, link-local (the cloud metadata service among them), unique-local,
    /// multicast, unspecified, documentation and reserved ranges — and IPv6 forms of any of these.
    public var isPublic: Bool {
        if let v4 = embeddedIPv4 { return IPAddress.v4(v4).isPublic }
        return !IPNetwork.nonPublic.contains { $0.contains(self) }
    }
}

/// An address range in CIDR notation: `10.0.0.0/8`, `fd00::/8`, or one address.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    /// Reads `address/length`, or a lone address (the whole length).
    public init?(_ text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", maxSplits: 1).map(String.init)
        guard let first = parts.first, let address = IPAddress(literal: first) else { return nil }
        let width = if case .v4 = address { 32 } else { 128 }
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...width).contains(length) else { return nil }
            prefixLength = length
        } else {
            prefixLength = width
        }
        self.address = address
    }

    public func contains(_ candidate: IPAddress) -> Bool {
        switch (address, candidate) {
        case (.v4(let network), .v4(let value)):
            let mask: UInt32 = prefixLength == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefixLength)
            return network & mask == value & mask
        case (.v6(let network), .v6(let value)):
            var remaining = prefixLength
            for index in 0..<16 where remaining > 0 {
                let bits = min(8, remaining)
                let mask = UInt8(truncatingIfNeeded: 0xff << (8 - bits))
                if network[index] & mask != value[index] & mask { return false }
                remaining -= bits
            }
            return true
        case (.v4(let network), .v6):
            // A trusted IPv4 proxy may show up as IPv4-mapped IPv6 on a dual-stack socket.
            return candidate.embeddedIPv4.map { IPNetwork(address: .v4(network), prefixLength: prefixLength).contains(.v4($0)) } ?? false
        case (.v6, .v4):
            return false
        }
    }

    init(address: IPAddress, prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    public var description: String { "\(address)/\(prefixLength)" }

    /// Ranges no webhook may reach unless its host is allowed by name (IANA special-purpose registries).
    static let nonPublic: [IPNetwork] = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24",
        "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "100::/64", "2001::/23", "2001:db8::/32", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    ].map { IPNetwork($0)! }
}

/// What every per-address limit counts: an IPv4 address, or the /64 an IPv6 address belongs to. One home line or
/// cloud VM gets a whole /64, so counting its 2⁶⁴ addresses apart would let one attacker spread guesses over
/// as many "addresses" as it likes. An IPv4-mapped address (`::ffff:192.0.2.1`, a dual-stack socket's view of
/// an IPv4 client) counts as that IPv4 address. Text that is no address (none known) is one block of its own.
struct AddressBlock: Hashable, Sendable, CustomStringConvertible {
    let description: String

    init(_ clientAddress: String?) {
        guard let clientAddress, let address = IPAddress(literal: clientAddress) else {
            description = clientAddress ?? "unknown"
            return
        }
        switch address {
        case .v4:
            description = address.description
        case .v6(let bytes):
            if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff, let v4 = address.embeddedIPv4 {
                description = IPAddress.v4(v4).description
            } else {
                description = IPAddress.v6(Array(bytes.prefix(8)) + Array(repeating: 0, count: 8)).description + "/64"
            }
        }
    }
}
