import Foundation

/// A one-time sign-in code as stored: its hash, never the code.
public struct OTPChallenge: Sendable, Equatable {
    public let id: String
    public let phone: PhoneNumber
    public let codeHash: Data
    public let createdAt: Date
    public let expiresAt: Date
    /// Wrong codes tried against it, from every address.
    public var attempts: Int
    public var consumedAt: Date?

    public init(id: String, phone: PhoneNumber, codeHash: Data, createdAt: Date, expiresAt: Date, attempts: Int = 0, consumedAt: Date? = nil) {
        self.id = id
        self.phone = phone
        self.codeHash = codeHash
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.attempts = attempts
        self.consumedAt = consumedAt
    }

    /// Whether the code can still sign someone in at `date`: not used, not expired, not guessed at too often.
    public func isOpen(at date: Date, maxAttempts: Int) -> Bool {
        consumedAt == nil && expiresAt > date && attempts < maxAttempts
    }
}
