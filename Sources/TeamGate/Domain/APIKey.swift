import Foundation

/// An organisation's public API key as stored: its hash, never its secret.
public struct APIKey: Sendable, Equatable {
    public let id: String
    public let organizationID: String
    /// The first characters of the secret, enough for a person to tell keys apart (`key_AbC1`).
    public let prefix: String
    public var name: String
    public let createdAt: Date
    public var lastUsedAt: Date?
    public var revokedAt: Date?

    public init(
        id: String,
        organizationID: String,
        prefix: String,
        name: String,
        createdAt: Date,
        lastUsedAt: Date? = nil,
        revokedAt: Date? = nil
    ) {
        self.id = id
        self.organizationID = organizationID
        self.prefix = prefix
        self.name = name
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
    }

    public var isRevoked: Bool { revokedAt != nil }

    /// How the audit names the key: by prefix, since the secret is never kept.
    public var actorLabel: String { "api_key:\(prefix)" }
}

/// A key just made: the only moment its secret exists outside the caller's hands.
public struct IssuedAPIKey: Sendable {
    public let key: APIKey
    public let secret: String

    public init(key: APIKey, secret: String) {
        self.key = key
        self.secret = secret
    }
}

/// A key about to be stored: its record and the hash of its secret.
public struct NewAPIKey: Sendable {
    public let key: APIKey
    public let secretHash: Data

    public init(key: APIKey, secretHash: Data) {
        self.key = key
        self.secretHash = secretHash
    }
}
