import Testing

@testable import TeamGate

@Suite("IPAddress")
struct IPAddressTests {
    @Test(
        "internal addresses are not public, in every spelling a connection would accept",
        arguments: [
            "127.0.0.1", "2130706433", "0x7f000001", "0177.0.0.1", "127.1", "10.0.0.5", "172.16.0.1", "172.31.255.255", "192.168.1.1",
            "100.64.0.1", "169.254.169.254", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "[::1]", "::", "::ffff:127.0.0.1",
            "::ffff:7f00:1", "[::ffff:169.254.169.254]", "64:ff9b::a00:5", "2002:7f00:1::", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1",
            "ff02::1", "2001:db8::1",
        ])
    func internalAddresses(text: String) throws {
        let address = try #require(IPAddress(literal: text))
        #expect(!address.isPublic)
    }

    @Test("public addresses are public", arguments: ["93.184.216.34", "1.1.1.1", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111", "::ffff:1.1.1.1"])
    func publicAddresses(text: String) throws {
        let address = try #require(IPAddress(literal: text))
        #expect(address.isPublic)
    }

    @Test("names are not address literals", arguments: ["example.com", "localhost", "deadbeef", "1e100", "", "127.0.0.1.nip.io"])
    func names(text: String) {
        #expect(IPAddress(literal: text) == nil)
    }

    @Test("numeric spellings read as the address they connect to, written canonically")
    func canonical() throws {
        #expect(try #require(IPAddress(literal: "2130706433")).description == "127.0.0.1")
        #expect(try #require(IPAddress(literal: "0x7f.1")).description == "127.0.0.1")
        #expect(try #require(IPAddress(literal: "[0:0:0:0:0:0:0:1]")).description == "::1")
    }

    @Test("CIDR ranges contain what they should, IPv4-mapped peers included")
    func networks() throws {
        let proxies = try #require(IPNetwork("10.0.0.0/8"))
        #expect(proxies.contains(try #require(IPAddress(literal: "10.1.2.3"))))
        #expect(proxies.contains(try #require(IPAddress(literal: "::ffff:10.1.2.3"))))
        #expect(!proxies.contains(try #require(IPAddress(literal: "11.0.0.1"))))
        let single = try #require(IPNetwork("2001:db8::7"))
        #expect(single.contains(try #require(IPAddress(literal: "2001:db8::7"))))
        #expect(!single.contains(try #require(IPAddress(literal: "2001:db8::8"))))
        #expect(IPNetwork("10.0.0.0/33") == nil)
        #expect(IPNetwork("proxy.internal") == nil)
    }

    @Test("limits count an IPv6 client by its /64 and an IPv4 one by its address")
    func addressBlocks() {
        #expect(AddressBlock("2001:db8:1:2:aaaa::1") == AddressBlock("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        #expect(AddressBlock("2001:db8:1:2::1").description == "2001:db8:1:2::/64")
        #expect(AddressBlock("2001:db8:1:2::1") != AddressBlock("2001:db8:1:3::1"))
        #expect(AddressBlock("192.0.2.1") != AddressBlock("192.0.2.2"))
        #expect(AddressBlock("::ffff:192.0.2.1") == AddressBlock("192.0.2.1"))
        #expect(AddressBlock(nil).description == "unknown")
    }
}
