import Foundation

/// A change an organisation's webhooks hear about, worded by the service that made it. Each subscribed
/// webhook gets it as one delivery, queued in the transaction that made the change (an outbox).
public struct WebhookMessage: Sendable {
    public let organizationID: String
    public let event: WebhookEvent
    public let data: [String: WebhookValue]
    public let at: Date

    public init(organizationID: String, event: WebhookEvent, data: [String: WebhookValue], at: Date) {
        self.organizationID = organizationID
        self.event = event
        self.data = data
        self.at = at
    }

    /// The body of one delivery: the envelope every event shares, under the delivery's own id.
    func payload(deliveryID: String) -> String {
        WebhookValue.object([
            "id": .string(deliveryID),
            "type": .string(event.rawValue),
            "createdAt": .string(at.formatted(.iso8601)),
            "organizationId": .string(organizationID),
            "data": .object(data),
        ]).json
    }
}

/// A JSON value for webhook payloads, written with sorted keys so a payload reads the same every time.
public enum WebhookValue: Sendable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case null
    case object([String: WebhookValue])

    var json: String {
        switch self {
        case .string(let text): return JSONText.string(text)
        case .int(let value): return String(value)
        case .bool(let value): return value ? "true" : "false"
        case .null: return "null"
        case .object(let fields):
            return "{" + fields.sorted { $0.key < $1.key }.map { JSONText.string($0.key) + ":" + $0.value.json }.joined(separator: ",") + "}"
        }
    }

    static func optional(_ text: String?) -> WebhookValue { text.map(WebhookValue.string) ?? .null }
}
