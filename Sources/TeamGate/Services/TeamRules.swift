import Foundation

/// Who may do what to whom in a team: each rule once, for every actor (the API's key, the console's admin,
/// a member on their own session, the operator at the CLI). Services call these; doors never restate them.
enum TeamRules {
    /// Whether `actor` may end the sessions of, lock or unlock `target` (`Role.manages`); a member may always
    /// act on themselves.
    static func mayManage(_ actor: Principal, _ target: TeamMember) -> Bool {
        refusal(of: actor, over: target) == nil
    }

    /// Refuses what `actor` may not do to `target`.
    static func authorize(_ actor: Principal, over target: TeamMember) throws(TeamGateError) {
        if let refusal = refusal(of: actor, over: target) { throw TeamGateError.notPermitted(refusal) }
    }

    private static func refusal(of actor: Principal, over target: TeamMember) -> Permission? {
        switch actor {
        case .apiKey(let key):
            key.organizationID == target.organizationID ? nil : .otherOrganization
        case .consoleAdmin(let admin):
            if admin.organizationID != target.organizationID {
                .otherOrganization
            } else if admin.id == target.id || admin.role.manages(target.role) {
                nil
            } else {
                admin.role == .teamLead ? .teamLeadOverAdmin : .notAnAdmin
            }
        case .member(let member):
            member.id == target.id ? nil : .ownSessionOnly
        // An app acts on the sign-ins made through it, never on a member.
        case .app:
            .ownSessionOnly
        // The directory speaks for the whole organisation's roster, as its key does for the API.
        case .directory(let key):
            key.organizationID == target.organizationID ? nil : .otherOrganization
        case .commandLine, .system:
            nil
        }
    }

    /// Keys and webhooks (and what the next doors register: apps, provisioning tokens) are the Owner's: they
    /// carry the organisation's power, or its members' names and numbers, out of TeamGate.
    static func checkManages(_ setting: OwnerSetting, actor: Principal, organizationID: String) throws(TeamGateError) {
        if let refusal = refusal(of: actor, managing: setting, organizationID: organizationID) { throw TeamGateError.notPermitted(refusal) }
    }

    private static func refusal(of actor: Principal, managing setting: OwnerSetting, organizationID: String) -> Permission? {
        switch actor {
        case .apiKey(let key):
            key.organizationID == organizationID ? nil : .otherOrganization
        case .consoleAdmin(let admin):
            if admin.organizationID != organizationID { .otherOrganization } else { admin.isOwner ? nil : .ownerOnly(setting) }
        case .member, .app, .directory:
            .ownerOnly(setting)
        case .commandLine, .system:
            nil
        }
    }

    /// The console is for the roles that manage others: the Owner and Team Leads.
    static func mayUseConsole(_ role: Role) -> Bool {
        role == .owner || role == .teamLead
    }

    /// Refuses a lock shorter than a minute or longer than `Lockout.maximumMinutes`; none is fine.
    static func checkLockLength(_ minutes: Int?) throws(TeamGateError) {
        guard let minutes else { return }
        guard (1...Lockout.maximumMinutes).contains(minutes) else { throw TeamGateError.lockLengthOutOfRange }
    }

    /// Refuses a lock of the Owner: it would shut the organisation out of its own keys.
    static func checkLockable(_ target: TeamMember, minutes: Int?) throws(TeamGateError) {
        if minutes != nil, target.isOwner { throw TeamGateError.ownerCannotBeLocked }
    }

    /// An organisation always has its one Owner: nobody else becomes one, by any door (a unique index backs it).
    static func checkAssignable(_ role: Role) throws(TeamGateError) {
        if role == .owner { throw TeamGateError.ownerRoleCannotBeAssigned }
    }

    static func checkRemovable(_ member: TeamMember) throws(TeamGateError) {
        if member.isOwner { throw TeamGateError.ownerCannotBeRemoved }
    }

    /// The Owner stays able to sign in, whatever a directory says: as with a lockout, deactivating them would shut
    /// the organisation out of its own keys.
    static func checkDeactivatable(_ member: TeamMember) throws(TeamGateError) {
        if member.isOwner { throw TeamGateError.ownerCannotBeDeactivated }
    }

    static func checkRoleChange(of member: TeamMember, to role: Role) throws(TeamGateError) {
        if member.isOwner { throw TeamGateError.ownerRoleCannotChange }
        try checkAssignable(role)
    }
}

extension TeamMember {
    /// The member as webhook payloads describe them.
    var webhookData: [String: WebhookValue] {
        ["memberId": .string(id), "phoneNumber": .string(phone.e164), "name": .string(name)]
    }
}
