import Foundation
import Hummingbird

/// `POST /webhooks`, `GET /webhooks`, `DELETE /webhooks/{id}`, `GET /webhooks/{id}/deliveries`.
struct WebhooksController: Sendable {
    let webhooks: Webhooks
    let gate: AdminGate

    func register(on router: Router<TeamGateRequestContext>, routes: RouteTable) {
        router.on(.post, "/webhooks", routes: routes) { request, context in
            try await gate.handle(request, context, readsBody: true) { call in try await create(call) }
        }
        router.on(.get, "/webhooks", routes: routes) { request, context in
            try await gate.handle(request, context, readsBody: false) { call in try await list(call) }
        }
        router.on(.delete, "/webhooks/{id}", routes: routes) { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await gate.handle(request, context, readsBody: false) { call in
                try await webhooks.delete(organizationID: call.key.organizationID, id: id, origin: call.origin)
                return try .json(.ok, TeamController.Success())
            }
        }
        router.on(.get, "/webhooks/{id}/deliveries", routes: routes) { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await gate.handle(request, context, readsBody: false) { call in
                try .json(.ok, DeliveryList(data: try await webhooks.deliveries(organizationID: call.key.organizationID, id: id).map(DeliveryBody.init)))
            }
        }
    }

    struct WebhookBody: Encodable {
        let id: String
        let url: String
        let events: [String]
        let createdAt: Date
        var secret: String?

        init(_ webhook: Webhook, showingSecret: Bool = false) {
            id = webhook.id
            url = webhook.url.absoluteString
            events = webhook.events.map(\.rawValue)
            createdAt = webhook.createdAt
            secret = showingSecret ? webhook.secret : nil
        }
    }

    struct WebhookList: Encodable {
        let data: [WebhookBody]
    }

    struct DeliveryBody: Encodable {
        let id: String
        let event: String
        let state: String
        let attempts: Int
        let lastStatus: Int?
        let lastError: String?
        let createdAt: Date
        let deliveredAt: Date?
        let nextAttemptAt: Date?

        init(_ delivery: WebhookDelivery) {
            id = delivery.id
            event = delivery.event.rawValue
            state = delivery.state.rawValue
            attempts = delivery.attempts
            lastStatus = delivery.lastStatus
            lastError = delivery.lastError
            createdAt = delivery.createdAt
            deliveredAt = delivery.deliveredAt
            nextAttemptAt = delivery.state == .pending ? delivery.nextAttemptAt : nil
        }
    }

    struct DeliveryList: Encodable {
        let data: [DeliveryBody]
    }

    private func create(_ call: AdminCall) async throws -> Reply {
        let body = call.body!
        var problems: [String] = []
        let url = body.requiredString("url", problems: &problems)
        var events: [WebhookEvent] = []
        if case .array(let items)? = body.fields["events"], !items.isEmpty {
            for item in items {
                if case .string(let name) = item, let event = WebhookEvent(rawValue: name) {
                    events.append(event)
                } else {
                    problems.append("events must contain only: \(WebhookEvent.allCases.map(\.rawValue).joined(separator: ", "))")
                    break
                }
            }
        } else {
            problems.append("events must be a non-empty array")
        }
        guard problems.isEmpty, let url else { throw APIError.badRequest(problems) }
        let webhook = try await webhooks.create(organizationID: call.key.organizationID, url: url, events: events, origin: call.origin)
        return try .json(.created, WebhookBody(webhook, showingSecret: true))
    }

    private func list(_ call: AdminCall) async throws -> Reply {
        try .json(.ok, WebhookList(data: try await webhooks.list(organizationID: call.key.organizationID).map { WebhookBody($0) }))
    }
}
