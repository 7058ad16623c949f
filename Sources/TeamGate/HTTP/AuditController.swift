import Foundation
import Hummingbird

/// `GET /audit-events`: the organisation's audit log, newest first, with cursor pagination.
struct AuditController: Sendable {
    let directory: TeamDirectory

    func addRoutes(to routes: Routes<AdminRequestContext>) {
        routes.on(.get, "/audit-events", use: events)
    }

    struct EventBody: Encodable {
        let id: String
        let occurredAt: Date
        let actor: String
        let action: String
        let memberId: String?
        let memberPhoneNumber: String?
        let reason: String?
        let sessionsEnded: Int?
        let revocationId: String?
        let requestId: String?
        let clientIp: String?

        init(_ event: AuditEvent) {
            id = event.id
            occurredAt = event.occurredAt
            actor = event.actor
            action = event.action.rawValue
            memberId = event.memberID
            memberPhoneNumber = event.memberPhone?.e164
            reason = event.reason
            sessionsEnded = event.sessionsEnded
            revocationId = event.revocationID
            requestId = event.requestID
            clientIp = event.clientIP
        }
    }

    struct Page: Encodable {
        let data: [EventBody]
        let nextCursor: String?

        // Written out so the last page says `"nextCursor": null` rather than leaving the key out.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(data, forKey: .data)
            try container.encode(nextCursor, forKey: .nextCursor)
        }

        enum CodingKeys: String, CodingKey { case data, nextCursor }
    }

    @Sendable func events(_ request: Request, context: AdminRequestContext) async throws -> Reply {
        let parameters = request.uri.queryParameters
        var limit = 20
        var problems: [String] = []
        if let text = parameters.get("limit") {
            if let value = Int(text), (1...100).contains(value) { limit = value } else { problems.append("limit must be a whole number from 1 to 100") }
        }
        let filter = AuditFilter(
            organizationID: context.organizationID, limit: limit, member: parameters.get("memberPhoneNumber"), memberField: "memberPhoneNumber",
            action: parameters.get("action"), cursor: parameters.get("cursor"), since: parameters.get("since"))
        problems += filter.problems
        guard problems.isEmpty else { throw APIError.badRequest(problems) }
        let audit = filter.query
        let events = try await directory.auditEvents(audit)
        let next = events.count == audit.limit ? events.last?.id : nil
        return try .json(.ok, Page(data: events.map(EventBody.init), nextCursor: next))
    }
}
