import Foundation

/// A person on an organisation's team, known by the phone number they sign in with.
public struct TeamMember: Sendable, Equatable {
    public let id: String
    public let organizationID: String
    public var name: String
    public var phone: PhoneNumber
    public var email: String?
    public var role: Role
    public let createdAt: Date
    /// Set when the member was taken off the team; a removed member can never sign in again.
    public var removedAt: Date?
    /// Whom the member reports to, by member id (DoubleTick's reporting manager).
    public var reportingManagerID: String?
    /// Until when the member may not ask for codes or sign in (a temporary lockout).
    public var lockedUntil: Date?
    /// Set while the company's directory has the member deactivated (SCIM `active: false`): still on the team,
    /// shown and listed, but unable to sign in until reactivated.
    public var deactivatedAt: Date?

    public init(
        id: String,
        organizationID: String,
        name: String,
        phone: PhoneNumber,
        email: String? = nil,
        role: Role,
        createdAt: Date,
        removedAt: Date? = nil,
        reportingManagerID: String? = nil,
        lockedUntil: Date? = nil,
        deactivatedAt: Date? = nil
    ) {
        self.id = id
        self.organizationID = organizationID
        self.name = name
        self.phone = phone
        self.email = email
        self.role = role
        self.createdAt = createdAt
        self.removedAt = removedAt
        self.reportingManagerID = reportingManagerID
        self.lockedUntil = lockedUntil
        self.deactivatedAt = deactivatedAt
    }

    public var isOwner: Bool { role == .owner }
    public var isActive: Bool { removedAt == nil }
    public var isDeactivated: Bool { deactivatedAt != nil }

    /// Whether a lockout is in force at `date`.
    public func isLocked(at date: Date) -> Bool {
        lockedUntil.map { $0 > date } ?? false
    }
}
