import Foundation

/// Directory users (SCIM), each with their member as they are now. Removed members have none: taking a member off
/// the team by any door deletes their directory user with them.
public protocol ProvisioningStore: Sendable {
    /// The organisation's directory user for this member, if any.
    func scimUser(memberID: String, organizationID: String) async throws -> (user: SCIMUser, member: TeamMember)?
    /// The organisation's directory users whose attribute equals `value`, from an index: `username` (without regard
    /// to case), `externalid` or `id`.
    func scimUsers(organizationID: String, attribute: String, equals value: String) async throws -> [(user: SCIMUser, member: TeamMember)]
    /// Up to `limit` directory users from the `offset`-th (0-based), in the order they were provisioned.
    func scimUsers(organizationID: String, offset: Int, limit: Int) async throws -> [(user: SCIMUser, member: TeamMember)]
    func scimUserCount(organizationID: String) async throws -> Int
    /// Directory users whose member has `role`.
    func scimUsers(organizationID: String, role: Role) async throws -> [SCIMUser]
}

/// The provisioning primitives of a unit of work.
public protocol ProvisioningUnitOfWork {
    func scimUser(memberID: String, organizationID: String) throws -> (user: SCIMUser, member: TeamMember)?
    /// The member holding a directory user with this `userName` (compared without regard to case), if any.
    func scimUserMemberID(userNameKey: String, organizationID: String) throws -> String?
    /// Throws `TeamGateError.userNameTaken` when the organisation's directory already has the `userName`, and
    /// `.memberAlreadyProvisioned` when the member already has a directory user.
    func insertSCIMUser(_ user: SCIMUser) throws
    /// Throws `TeamGateError.userNameTaken` as `insertSCIMUser` does.
    func updateSCIMUser(_ user: SCIMUser) throws
    /// Stores the member's name, number and email; their live sessions carry them from the commit on. Throws
    /// `TeamGateError.memberExists` when another active member has the number.
    func updateProfile(of member: TeamMember) throws
    /// The ids of the members holding `role` who are directory users of the organisation.
    func scimUsers(role: Role, organizationID: String) throws -> [String]
    /// Deactivates the member at `date`, or reactivates them with nil.
    func setDeactivated(memberID: String, at date: Date?) throws
}
