import Testing

@testable import TeamGate

@Suite("Where a sign-in may send the browser back")
struct ReturnAddressTests {
    let rule = ReturnAddress(cookieDomain: "example.test", publicURL: "https://login.teamgate.test:8443")

    @Test(
        "the cookie's domain, under it and TeamGate's own host",
        arguments: [
            "http://example.test/", "https://wiki.example.test/page?x=1#top", "http://app.example.test:8080/a/b", "https://DASH.Example.Test/",
            "https://login.teamgate.test:8443/app", "http://deep.sub.example.test",
        ])
    func allowed(_ url: String) {
        #expect(rule.allows(url))
    }

    @Test(
        "another site, however it is dressed",
        arguments: [
            "https://evil.test/", "//evil.test", "/relative", "http://example.test.evil.test/", "http://app.example.test@evil.test/",
            "https://evil.test\\@app.example.test/", "http://evil.test\\.example.test/", "javascript:alert(1)", "JAVASCRIPT://example.test/%0aalert(1)",
            "http://evil.test%2f.example.test/", "http://evil.test%2eexample.test/", "ftp://app.example.test/", "http://app.example.test:99999/",
            "http://app.example.test:/", "http://app.example.test:80x/", " http://app.example.test/", "http://app.example.test/\u{0}",
            "http://[::1]/", "http://notexample.test/", "http:///example.test", "", "http://app.example.test\u{3002}evil.test/",
            "https://login.teamgate.test.evil.test/",
        ])
    func refused(_ url: String) {
        #expect(!rule.allows(url))
    }

    @Test("without a cookie domain only TeamGate's own host")
    func ownHostOnly() {
        let own = ReturnAddress(cookieDomain: nil, publicURL: "http://127.0.0.1:8080")
        #expect(own.allows("http://127.0.0.1:8080/app") && own.allows("http://127.0.0.1:9000/x"))
        #expect(!own.allows("http://example.test/"))
    }

    @Test("host names: labels of letters, digits and hyphens")
    func hostNames() {
        #expect(ReturnAddress.isHostName("example.com") && ReturnAddress.isHostName("a-b.c9"))
        #expect(!ReturnAddress.isHostName("") && !ReturnAddress.isHostName("a..b") && !ReturnAddress.isHostName("a_b.c") && !ReturnAddress.isHostName("Ex.com"))
    }
}
