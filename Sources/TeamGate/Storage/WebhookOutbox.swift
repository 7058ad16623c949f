import Foundation
import GRDB

/// Queues webhook deliveries inside the transaction that made the change (an outbox): the API call
/// pays one insert, a delivery can never be lost or sent for a change that was rolled back, and the
/// dispatcher sends it afterwards.
enum WebhookOutbox {
    static func enqueue(_ db: any SQLConnection, organizationID: String, event: WebhookEvent, data: [String: WebhookValue], at date: Date) throws {
        let hooks = try db.rows("SELECT id, events FROM webhooks WHERE organization_id = ? AND deleted_at IS NULL", [organizationID])
        for hook in hooks {
            let events: String = hook["events"]
            guard events.split(separator: ",").contains(Substring(event.rawValue)) else { continue }
            let id = SecretToken.identifier(prefix: "dlv_")
            let payload = WebhookValue.object([
                "id": .string(id),
                "type": .string(event.rawValue),
                "createdAt": .string(date.formatted(.iso8601)),
                "organizationId": .string(organizationID),
                "data": .object(data),
            ]).json
            try db.execute(
                """
                INSERT INTO webhook_deliveries (id, webhook_id, organization_id, event, payload, state, attempts, next_attempt_at, created_at)
                VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)
                """,
                [id, hook["id"] as String, organizationID, event.rawValue, payload, date.millisecondsSince1970, date.millisecondsSince1970]
            )
        }
    }
}

/// A JSON value for webhook payloads, written with sorted keys so a payload reads the same every time.
enum WebhookValue: Sendable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case null
    case object([String: WebhookValue])

    var json: String {
        switch self {
        case .string(let text):
            let data = (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8)
            return String(decoding: data, as: UTF8.self)
        case .int(let value): return String(value)
        case .bool(let value): return value ? "true" : "false"
        case .null: return "null"
        case .object(let fields):
            return "{" + fields.sorted { $0.key < $1.key }.map { WebhookValue.string($0.key).json + ":" + $0.value.json }.joined(separator: ",") + "}"
        }
    }

    static func optional(_ text: String?) -> WebhookValue { text.map(WebhookValue.string) ?? .null }
}
