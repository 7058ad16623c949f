import Foundation

/// An organisation's public API key as stored: its hash, never its secret. A provisioning token (the company
/// directory's SCIM credential) is an API key of another purpose: made, hashed, checked, limited and revoked the
/// same way, and refused wherever the other purpose is asked for.
public struct APIKey: Sendable, Equatable {
    /// What a key opens: DoubleTick's public API, or the SCIM service (`/scim/v2`).
    public enum Purpose: String, Sendable, CaseIterable {
        case publicAPI = "api"
        case provisioning = "scim"

        /// How a secret of this purpose begins, so a person (and a secret scanner) tells them apart.
        var secretPrefix: String { self == .publicAPI ? "key_" : "scim_" }
    }

    public let id: String
    public let organizationID: String
    /// The first characters of the secret, enough for a person to tell keys apart (`key_AbC1`).
    public let prefix: String
    public var name: String
    public let createdAt: Date
    public var lastUsedAt: Date?
    public var revokedAt: Date?
    public let purpose: Purpose

    public init(
        id: String,
        organizationID: String,
        prefix: String,
        name: String,
        createdAt: Date,
        lastUsedAt: Date? = nil,
        revokedAt: Date? = nil,
        purpose: Purpose = .publicAPI
    ) {
        self.id = id
        self.organizationID = organizationID
        self.prefix = prefix
        self.name = name
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
        self.purpose = purpose
    }

    public var isRevoked: Bool { revokedAt != nil }

    /// How the audit names the key: by prefix, since the secret is never kept.
    public var actorLabel: String { purpose == .publicAPI ? "api_key:\(prefix)" : "directory:\(prefix)" }
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
