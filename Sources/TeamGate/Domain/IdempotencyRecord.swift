import Foundation

/// A response kept for an Idempotency-Key, to be replayed to a retry.
public struct IdempotencyRecord: Sendable, Equatable {
    public let requestHash: Data
    public let status: Int
    public let body: Data
    public let createdAt: Date

    public init(requestHash: Data, status: Int, body: Data, createdAt: Date) {
        self.requestHash = requestHash
        self.status = status
        self.body = body
        self.createdAt = createdAt
    }
}
