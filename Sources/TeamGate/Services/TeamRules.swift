import Foundation

/// Who may do what to whom in a team: each rule once, for the API, the console and the CLI alike.
enum TeamRules {
    /// Refuses what `admin`'s role does not allow on `target` (`Role.manages`); a member may always act on themselves.
    static func authorize(_ admin: TeamMember, over target: TeamMember) throws {
        guard admin.id == target.id || admin.role.manages(target.role) else {
            throw TeamGateError.forbidden(
                admin.role == .teamLead
                    ? "A Team Lead cannot sign out, lock or unlock the Owner or another Team Lead."
                    : "Only the Owner and Team Leads manage members' sessions.")
        }
    }

    /// Refuses a lock of the Owner (it would shut the organisation out of its own keys) or past `Lockout.maximumMinutes`.
    static func checkLock(minutes: Int?, of target: TeamMember) throws {
        guard let minutes else { return }
        if target.isOwner { throw TeamGateError.unprocessable("The organisation owner cannot be locked out.") }
        if !(1...Lockout.maximumMinutes).contains(minutes) {
            throw TeamGateError.validation(["lockForMinutes must be an integer from 1 to \(Lockout.maximumMinutes)"])
        }
    }

    /// An organisation always has its one Owner: nobody else becomes one.
    static func checkAssignable(_ role: Role) throws {
        if role == .owner { throw TeamGateError.unprocessable("The Owner role cannot be assigned.") }
    }

    static func checkRemovable(_ member: TeamMember) throws {
        if member.isOwner { throw TeamGateError.unprocessable("The organisation owner cannot be removed.") }
    }

    static func checkRoleChange(of member: TeamMember, to role: Role) throws {
        if member.isOwner { throw TeamGateError.unprocessable("The organisation owner's role cannot be changed.") }
        try checkAssignable(role)
    }
}

extension TeamMember {
    /// The member as webhook payloads describe them.
    var webhookData: [String: WebhookValue] {
        ["memberId": .string(id), "phoneNumber": .string(phone.e164), "name": .string(name)]
    }
}
