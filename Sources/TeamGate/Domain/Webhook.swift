import Foundation

/// Where an organisation wants to hear about changes to its team.
public struct Webhook: Sendable, Equatable {
    public let id: String
    public let organizationID: String
    public let url: URL
    public let events: [WebhookEvent]
    /// Signs deliveries (HMAC-SHA256). Kept as is, unlike other secrets: signing needs the secret itself.
    public let secret: String
    public let createdAt: Date

    public init(id: String, organizationID: String, url: URL, events: [WebhookEvent], secret: String, createdAt: Date) {
        self.id = id
        self.organizationID = organizationID
        self.url = url
        self.events = events
        self.secret = secret
        self.createdAt = createdAt
    }
}

public enum WebhookEvent: String, Sendable, Codable, CaseIterable {
    case teamMemberLoggedOut = "team_member.logged_out"
    case sessionEnded = "session.ended"
    case teamMemberLocked = "team_member.locked"
    case teamMemberRemoved = "team_member.removed"
    /// The company's directory deactivated the member: every session ended, sign-in refused until reactivated.
    case teamMemberDeactivated = "team_member.deactivated"
    case teamMemberReactivated = "team_member.reactivated"
}

/// One attempt-tracked message to one webhook.
public struct WebhookDelivery: Sendable, Equatable {
    public enum State: String, Sendable {
        case pending
        case delivered
        case failed
    }

    public let id: String
    public let webhookID: String
    public let event: WebhookEvent
    public let payload: String
    public var state: State
    public var attempts: Int
    public var lastStatus: Int?
    public var lastError: String?
    public var nextAttemptAt: Date
    public let createdAt: Date
    public var deliveredAt: Date?

    public init(
        id: String, webhookID: String, event: WebhookEvent, payload: String, state: State, attempts: Int, lastStatus: Int?,
        lastError: String?, nextAttemptAt: Date, createdAt: Date, deliveredAt: Date?
    ) {
        self.id = id
        self.webhookID = webhookID
        self.event = event
        self.payload = payload
        self.state = state
        self.attempts = attempts
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.nextAttemptAt = nextAttemptAt
        self.createdAt = createdAt
        self.deliveredAt = deliveredAt
    }
}
