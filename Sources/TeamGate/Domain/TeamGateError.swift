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
    /// An organisation, key, member or webhook does not exist; the text says so to the client.
    case notFound(String)
    /// The member is locked out until the date.
    case memberLocked(until: Date)
    /// The caller's role does not allow this on that member; the text says which rule.
    case forbidden(String)
    /// A rule of the team forbids the change; the text says which (e.g. the owner cannot be removed).
    case unprocessable(String)
    /// The Idempotency-Key was used before with a different request.
    case idempotencyKeyReused
    /// A request with the same Idempotency-Key is still being handled.
    case idempotencyKeyInFlight
}
