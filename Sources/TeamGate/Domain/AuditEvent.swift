import Foundation

/// One thing that happened to an organisation's team, kept for its admins.
public struct AuditEvent: Sendable, Equatable {
    public let id: String
    public let organizationID: String
    public let occurredAt: Date
    /// Who did it: `api_key:<prefix>`, `member:<id>`, `cli` or `system`.
    public let actor: String
    public let action: AuditAction
    public let memberID: String?
    public let memberPhone: PhoneNumber?
    public let reason: String?
    public let sessionsEnded: Int?
    public let revocationID: String?
    public let requestID: String?
    public let clientIP: String?

    public init(
        id: String,
        organizationID: String,
        occurredAt: Date,
        actor: String,
        action: AuditAction,
        memberID: String? = nil,
        memberPhone: PhoneNumber? = nil,
        reason: String? = nil,
        sessionsEnded: Int? = nil,
        revocationID: String? = nil,
        requestID: String? = nil,
        clientIP: String? = nil
    ) {
        self.id = id
        self.organizationID = organizationID
        self.occurredAt = occurredAt
        self.actor = actor
        self.action = action
        self.memberID = memberID
        self.memberPhone = memberPhone
        self.reason = reason
        self.sessionsEnded = sessionsEnded
        self.revocationID = revocationID
        self.requestID = requestID
        self.clientIP = clientIP
    }
}

extension AuditEvent {
    /// An event for `origin`, with a fresh id.
    static func make(
        _ action: AuditAction,
        organizationID: String,
        at date: Date,
        origin: RequestOrigin,
        member: TeamMember? = nil,
        reason: String? = nil,
        sessionsEnded: Int? = nil,
        revocationID: String? = nil
    ) -> AuditEvent {
        AuditEvent(
            id: SecretToken.identifier(prefix: "evt_"),
            organizationID: organizationID,
            occurredAt: date,
            actor: origin.actor.auditLabel,
            action: action,
            memberID: member?.id,
            memberPhone: member?.phone,
            reason: reason,
            sessionsEnded: sessionsEnded,
            revocationID: revocationID,
            requestID: origin.requestID,
            clientIP: origin.clientIP
        )
    }
}

public enum AuditAction: String, Sendable, Codable, CaseIterable {
    case organizationCreated = "organization.created"
    case memberAdded = "member.added"
    case memberLoggedOut = "member.logged_out"
    case memberSignedIn = "member.signed_in"
    case memberSignedOut = "member.signed_out"
    case apiKeyCreated = "api_key.created"
    case apiKeyRevoked = "api_key.revoked"
    case memberRemoved = "member.removed"
    case memberRoleChanged = "member.role_changed"
    case memberLocked = "member.locked"
    case memberUnlocked = "member.unlocked"
    case sessionEnded = "session.ended"
    case teamLoggedOut = "team.logged_out"
    case webhookCreated = "webhook.created"
    case webhookDeleted = "webhook.deleted"
    case appRegistered = "app.registered"
    case appRemoved = "app.removed"
    case memberDeactivated = "member.deactivated"
    case memberReactivated = "member.reactivated"
    case memberUpdated = "member.updated"
    case provisioningTokenCreated = "provisioning_token.created"
    case provisioningTokenRevoked = "provisioning_token.revoked"
}
