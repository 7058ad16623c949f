import Foundation

/// A company using TeamGate: one team, one shared inbox, its own API keys.
public struct Organization: Sendable, Equatable, Codable {
    public let id: String
    public var name: String
    public let createdAt: Date

    public init(id: String, name: String, createdAt: Date) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
    }
}
