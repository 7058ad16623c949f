import Foundation

/// Why a SCIM request cannot be carried out, by SCIM's own error types (RFC 7644 §3.12): the HTTP layer answers each
/// in the Error schema with its status.
public struct SCIMFailure: Error, Equatable, Sendable {
    public enum Kind: String, Sendable {
        case invalidFilter, invalidPath, invalidSyntax, invalidValue, noTarget, mutability, uniqueness, tooMany
        /// No such resource (404, no `scimType`).
        case notFound
        /// An operation TeamGate does not offer on this resource (the four role groups are fixed): 403.
        case notSupported
        /// A request of SCIM's that TeamGate does not serve (a search across every resource type): 501.
        case notImplemented
    }

    public let kind: Kind
    public let detail: String

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    static func syntax(_ error: SCIMSyntaxError, as kind: Kind) -> SCIMFailure { SCIMFailure(kind, error.message) }
}
