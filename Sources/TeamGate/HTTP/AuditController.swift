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

    /// RFC 3339 times, with or without fractional seconds, with `Z` or an offset.
    static func parseDate(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    @Sendable func events(_ request: Request, context: AdminRequestContext) async throws -> Reply {
        let query = request.uri.queryParameters
        var problems: [String] = []
        var audit = AuditQuery(organizationID: context.organizationID, limit: 20)
        if let text = query.get("limit") {
            if let limit = Int(text), (1...100).contains(limit) { audit.limit = limit } else { problems.append("limit must be a whole number from 1 to 100") }
        }
        if let text = query.get("cursor") {
            if (1...100).contains(text.count) { audit.afterEventID = text } else { problems.append("cursor must be a nextCursor from an earlier page") }
        }
        if let text = query.get("memberPhoneNumber") {
            if let phone = try? PhoneNumber(parsing: text) { audit.memberPhone = phone } else {
                problems.append("memberPhoneNumber must be a valid phone number with country code")
            }
        }
        if let text = query.get("action") {
            if let action = AuditAction(rawValue: text) { audit.action = action } else {
                problems.append("action must be one of: \(AuditAction.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        if let text = query.get("since") {
            if let since = Self.parseDate(text) { audit.since = since } else { problems.append("since must be an ISO 8601 date-time") }
        }
        guard problems.isEmpty else { throw APIError.badRequest(problems) }
        let events = try await directory.auditEvents(audit)
        let next = events.count == audit.limit ? events.last?.id : nil
        return try .json(.ok, Page(data: events.map(EventBody.init), nextCursor: next))
    }
}
