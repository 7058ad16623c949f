import Foundation

/// One device's signed-in state for a member. The bearer token itself is never kept: only its hash.
public struct Session: Sendable, Equatable {
    public let id: String
    public let memberID: String
    public let organizationID: String
    public var deviceName: String
    public var userAgent: String?
    public var ipAddress: String?
    public let createdAt: Date
    public var expiresAt: Date
    public var lastSeenAt: Date?
    public var endedAt: Date?
    public var endReason: SessionEndReason?
    /// The admin action that ended it, when one did.
    public var revocationID: String?

    public init(
        id: String,
        memberID: String,
        organizationID: String,
        deviceName: String,
        userAgent: String? = nil,
        ipAddress: String? = nil,
        createdAt: Date,
        expiresAt: Date,
        lastSeenAt: Date? = nil,
        endedAt: Date? = nil,
        endReason: SessionEndReason? = nil,
        revocationID: String? = nil
    ) {
        self.id = id
        self.memberID = memberID
        self.organizationID = organizationID
        self.deviceName = deviceName
        self.userAgent = userAgent
        self.ipAddress = ipAddress
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.lastSeenAt = lastSeenAt
        self.endedAt = endedAt
        self.endReason = endReason
        self.revocationID = revocationID
    }

    /// Whether the session still lets its device in at `now`.
    public func isLive(at now: Date) -> Bool {
        endedAt == nil && expiresAt > now
    }
}

/// Why a session stopped working; devices are told this, and `GET /me` says it.
public enum SessionEndReason: String, Sendable, Codable, CaseIterable {
    case adminLogout = "admin_logout"
    case sessionRevoked = "session_revoked"
    case memberRemoved = "member_removed"
    case orgLogout = "org_logout"
    case signedOut = "signed_out"
    case expired = "expired"
    /// The company's directory deactivated the member (SCIM `active: false`).
    case deprovisioned = "deprovisioned"

    /// The sentence a signed-out device shows its user.
    public var explanation: String {
        switch self {
        case .adminLogout: "Your session was ended by an admin of your team. Sign in again."
        case .sessionRevoked: "This device's session was ended by an admin. Sign in again."
        case .memberRemoved: "You are no longer a member of this team."
        case .orgLogout: "Your team's admin signed everyone out. Sign in again."
        case .signedOut: "You signed out on this device."
        case .expired: "Your session expired. Sign in again."
        case .deprovisioned: "Your company's directory deactivated your account. Ask your admin if this is unexpected."
        }
    }
}

/// What a member request needs to know about a live session, kept in memory so `GET /me` skips the disk.
public struct LiveSession: Sendable, Equatable {
    public let sessionID: String
    public let expiresAt: Date
    public let member: TeamMember
    public let organizationName: String
}

/// A session a unit of work ended: which token stops working, and what its devices are told.
public struct EndedSession: Sendable, Equatable {
    public let tokenHash: Data
    public let sessionID: String
    public let memberID: String
    public let reason: SessionEndReason
    public let revocationID: String?
    /// The SSO session an app session was opened under; nil for a device's own session.
    public var parentID: String? = nil
}

/// A member's sessions at a glance, for the console's team page.
public struct SessionSummary: Sendable, Equatable {
    public let live: Int
    public let lastSeen: Date?
}

/// One session of a revocation: when it ended, when its device was told, when the device confirmed.
public struct RevokedSession: Sendable, Equatable {
    public let sessionID: String
    public let deviceName: String
    public let memberPhone: PhoneNumber
    public let reason: SessionEndReason?
    public let endedAt: Date?
    public let notifiedAt: Date?
    public let acknowledgedAt: Date?
}
