import Foundation

/// The audit log's filters read from a query string, the same for both doors that show the log: the API
/// (`GET /audit-events`) and the console's audit page. A filter that is not what it must be is a problem to
/// answer, never a filter silently dropped.
struct AuditFilter {
    var query: AuditQuery
    var problems: [String] = []

    /// `memberField` is the parameter's name at this door (`memberPhoneNumber` in the API, `member` in the console).
    init(organizationID: String, limit: Int, member: String?, memberField: String, action: String?, cursor: String?, since: String?) {
        query = AuditQuery(organizationID: organizationID, limit: limit, afterEventID: cursor)
        if let member {
            if let phone = PhoneNumber(validating: member) { query.memberPhone = phone } else {
                problems.append("\(memberField) must be a valid phone number with country code")
            }
        }
        if let action {
            if let action = AuditAction(rawValue: action) { query.action = action } else {
                problems.append("action must be one of: \(AuditAction.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        if let since {
            if let date = Self.parseDate(since) { query.since = date } else { problems.append("since must be an ISO 8601 date-time") }
        }
    }

    /// RFC 3339 times, with or without fractional seconds, with `Z` or an offset.
    static func parseDate(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
