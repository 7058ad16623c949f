import Foundation

/// The rules a request can break. One place in HTTP maps each to its status and body; nothing here knows HTTP.
public enum TeamGateError: Error, Equatable, Sendable {
    /// The API key is missing, unknown or revoked.
    case invalidAPIKey
    /// No member of the caller's organisation has this number.
    case notATeamMember
    /// The request's fields are wrong; each message names a field and what it must be.
    case validation([String])
    /// The code is wrong, expired, used up or was never sent.
    case invalidCode
    /// Too many codes were asked for from this address (for this number, or in all); try again after the interval.
    case tooManyCodeRequests(retryAfterSeconds: Int)
    /// Too many wrong codes, unknown keys or unknown tokens came from this address; try again after the interval.
    case tooManyFailedAttempts(retryAfterSeconds: Int)
    /// The number belongs to several organisations and the request did not say which.
    case organizationRequired([Organization])
    /// The session token is unknown.
    case sessionUnknown
    /// The session token was valid once; says why it is not now.
    case sessionEnded(SessionEndReason)
    /// A member with this number already exists in the organisation.
    case memberExists
    /// The member is locked out until the date.
    case memberLocked(until: Date)
    /// No organisation has this id.
    case organizationNotFound(id: String)
    /// The organisation has no API key with this id or prefix.
    case apiKeyNotFound(idOrPrefix: String)
    /// The number looked up (`GET /team/member`) is no member of the organisation.
    case memberNotFound
    /// The member a change names (a removal, a role change) is no active member of the organisation.
    case memberToChangeNotFound
    /// The reporting manager named for new members is no member of the organisation.
    case reportingManagerNotFound
    /// A member to add has a number that is already on the team (`POST /team/members`).
    case phoneAlreadyOnTeam(PhoneNumber)
    /// The organisation has no session with this id (or it is another member's, from their page).
    case sessionNotFound
    /// The organisation has no webhook with this id.
    case webhookNotFound
    /// The organisation has no app (OpenID Connect client) with this id.
    case appNotFound
    /// The organisation already has the most webhooks it may have (`--webhooks-per-organization`).
    case webhookLimitReached(limit: Int)
    /// The organisation made no revocation with this id.
    case revocationNotFound
    /// A page cursor that is no `nextCursor` of an earlier page.
    case invalidCursor
    /// A lockout shorter than a minute or longer than `Lockout.maximumMinutes`.
    case lockLengthOutOfRange
    /// The Owner cannot be locked out: it would shut the organisation out of its own keys.
    case ownerCannotBeLocked
    /// The Owner cannot be taken off the team.
    case ownerCannotBeRemoved
    /// The Owner's role cannot be changed.
    case ownerRoleCannotChange
    /// Nobody else becomes an Owner: an organisation has exactly one.
    case ownerRoleCannotBeAssigned
    /// The actor may not do this; says which rule (`TeamRules`).
    case notPermitted(Permission)
    /// The Idempotency-Key was used before with a different request.
    case idempotencyKeyReused
    /// A request with the same Idempotency-Key is still being handled.
    case idempotencyKeyInFlight
    /// The organisation's directory already has a user with this `userName` (without regard to case).
    case userNameTaken
    /// The number belongs to a member whom another directory user already holds.
    case memberAlreadyProvisioned
    /// The Owner cannot be deactivated: it would shut the organisation out of its own keys.
    case ownerCannotBeDeactivated
    case provisioningTokenNotFound(idOrPrefix: String)
}

/// The rules of `TeamRules` that refuse an actor, each a fact the one mapping words.
public enum Permission: Sendable, Equatable {
    /// A Team Lead acting on the Owner or another Team Lead.
    case teamLeadOverAdmin
    /// A role that manages nobody else's sessions.
    case notAnAdmin
    /// A member acting on another member.
    case ownSessionOnly
    /// The organisation's Owner-only settings, named.
    case ownerOnly(OwnerSetting)
    /// An actor of one organisation reaching into another.
    case otherOrganization
}

/// What only the Owner (or the organisation's key, or the operator) manages.
public enum OwnerSetting: Sendable, Equatable {
    case apiKeys
    case webhooks
    /// The apps that sign members in through TeamGate (OpenID Connect clients).
    case apps
    /// The company directory's SCIM provisioning tokens.
    case provisioning
    /// Ending every session of the team at once, other admins' included.
    case wholeTeamLogout
}
