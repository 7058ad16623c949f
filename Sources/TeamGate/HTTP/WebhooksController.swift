import Foundation
import Hummingbird

/// `POST /webhooks`, `GET /webhooks`, `DELETE /webhooks/{id}`, `GET /webhooks/{id}/deliveries`.
struct WebhooksController: Sendable {
    let webhooks: Webhooks
    let bodyLimit: Int

    func addRoutes(to routes: Routes<AdminRequestContext>) {
        routes.on(.post, "/webhooks", use: create)
        routes.on(.get, "/webhooks", use: list)
        routes.on(.delete, "/webhooks/{id}", use: delete)
        routes.on(.get, "/webhooks/{id}/deliveries", use: deliveries)
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

    @Sendable func create(_ request: Request, context: AdminRequestContext) async throws -> Reply {
        let body = try await JSONObjectBody.read(request, limit: bodyLimit)
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
        let webhook = try await webhooks.create(organizationID: context.organizationID, url: url, events: events, origin: context.origin)
        return try .json(.created, WebhookBody(webhook, showingSecret: true))
    }

    @Sendable func delete(_ request: Request, context: AdminRequestContext) async throws -> Reply {
        try await webhooks.delete(organizationID: context.organizationID, id: try context.parameters.require("id"), origin: context.origin)
        return try .json(.ok, TeamController.Success())
    }

    @Sendable func deliveries(_ request: Request, context: AdminRequestContext) async throws -> Reply {
        let deliveries = try await webhooks.deliveries(organizationID: context.organizationID, id: try context.parameters.require("id"), origin: context.origin)
        return try .json(.ok, DeliveryList(data: deliveries.map(DeliveryBody.init)))
    }

    @Sendable func list(_ request: Request, context: AdminRequestContext) async throws -> Reply {
        try .json(.ok, WebhookList(data: try await webhooks.list(organizationID: context.organizationID, origin: context.origin).map { WebhookBody($0) }))
    }
}
