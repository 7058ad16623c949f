import Testing

@testable import TeamGate

@Suite("SecretToken")
struct SecretTokenTests {
    @Test("tokens carry their prefix and the requested randomness, and never repeat")
    func tokens() {
        let tokens = (0..<1000).map { _ in SecretToken.make(prefix: "tgs_") }
        #expect(Set(tokens).count == 1000)
        #expect(tokens.allSatisfy { $0.hasPrefix("tgs_") && $0.count == 4 + 43 })
        #expect(SecretToken.identifier(prefix: "ses_").count == 4 + 16)
        #expect(SecretToken.hash("a") != SecretToken.hash("b"))
        #expect(SecretToken.hash("a").count == 32)
    }
}
