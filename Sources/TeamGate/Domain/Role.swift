/// DoubleTick's four organisation roles. The ids are stable: clients send them in `orgRoleId`.
public enum Role: Int, CaseIterable, Sendable, Codable {
    case owner = 1
    case teamLead = 2
    case teamMemberAllChats = 3
    case teamMemberAssignedChats = 4

    public var id: Int { rawValue }

    public var name: String {
        switch self {
        case .owner: "Owner"
        case .teamLead: "Team Lead"
        case .teamMemberAllChats: "Team Member (all chats)"
        case .teamMemberAssignedChats: "Team Member (assigned chats)"
        }
    }

    public var summary: String {
        switch self {
        case .owner: "Full access to the organisation, its billing, API keys and every chat."
        case .teamLead: "Manages the team and sees every chat."
        case .teamMemberAllChats: "Answers customers and sees every chat of the inbox."
        case .teamMemberAssignedChats: "Answers customers and sees only the chats assigned to them."
        }
    }

    /// What the role may do, as `GET /roles` lists it.
    public var permissions: [String] {
        switch self {
        case .owner: ["chats.read.all", "chats.reply", "team.manage", "sessions.manage", "api_keys.manage", "billing.manage"]
        case .teamLead: ["chats.read.all", "chats.reply", "team.manage", "sessions.manage"]
        case .teamMemberAllChats: ["chats.read.all", "chats.reply"]
        case .teamMemberAssignedChats: ["chats.read.assigned", "chats.reply"]
        }
    }

    /// Finds a role by its id or its name, ignoring case and spacing of the name.
    public init?(nameOrID text: String) {
        if let id = Int(text), let role = Role(rawValue: id) {
            self = role
            return
        }
        let wanted = text.lowercased().filter { !$0.isWhitespace }
        guard let role = Role.allCases.first(where: { $0.name.lowercased().filter { !$0.isWhitespace } == wanted }) else {
            return nil
        }
        self = role
    }
}

extension Role {
    /// Whether an admin with this role may end the sessions of, lock or unlock a member with `target`.
    /// The Owner manages everyone; a Team Lead manages the team members, but neither the Owner nor
    /// another Team Lead, so that one admin cannot shut the other admins out; members manage nobody.
    public func manages(_ target: Role) -> Bool {
        switch self {
        case .owner: true
        case .teamLead: target == .teamMemberAllChats || target == .teamMemberAssignedChats
        case .teamMemberAllChats, .teamMemberAssignedChats: false
        }
    }
}
