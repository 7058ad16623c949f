import Foundation

/// A page of the audit log, newest first; `afterEventID` is the cursor: the last event of the page before,
/// by id, so a cursor means nothing outside its own organisation and counts nothing.
public struct AuditQuery: Sendable {
    public var organizationID: String
    public var limit: Int
    public var afterEventID: String?
    public var memberPhone: PhoneNumber?
    public var action: AuditAction?
    public var since: Date?

    public init(
        organizationID: String, limit: Int, afterEventID: String? = nil, memberPhone: PhoneNumber? = nil, action: AuditAction? = nil, since: Date? = nil
    ) {
        self.organizationID = organizationID
        self.limit = limit
        self.afterEventID = afterEventID
        self.memberPhone = memberPhone
        self.action = action
        self.since = since
    }
}
