import Foundation

/// The demo organisation `serve --demo` prepares: a team whose members are already signed in, and a
/// fresh API key each start (a key's secret is shown only when it is made).
public enum Demo {
    public static let organizationName = "Demo Inbox"

    struct Person {
        let name: String
        let phone: String
        let role: Role
        let devices: [String]
    }

    static let people = [
        Person(name: "Asha Rao", phone: "+919300000001", role: .owner, devices: ["Asha's MacBook"]),
        Person(name: "Vikram Shah", phone: "+919300000002", role: .teamLead, devices: ["Pixel 8", "Office laptop"]),
        Person(
            name: "Meera Iyer", phone: "+919300000003", role: .teamMemberAllChats,
            devices: ["iPhone 15", "Front-desk tablet (shared)", "Chrome on Windows"]),
        Person(name: "Rohan Das", phone: "+919300000004", role: .teamMemberAssignedChats, devices: ["Galaxy A54", "Front-desk tablet (shared)"]),
    ]

    public struct MemberSummary: Sendable {
        public let member: TeamMember
        public let liveSessions: Int
        /// Tokens of the sessions opened by this start (earlier ones' tokens were shown when they were made).
        public let newTokens: [(device: String, token: String)]
    }

    public struct Summary: Sendable {
        public let organization: Organization
        public let key: IssuedAPIKey
        public let members: [MemberSummary]
    }

    /// Creates the demo organisation if there is none, issues a key, and signs in every demo member
    /// who has no live session.
    public static func prepare(_ services: TeamGateServices, clock: WallClock = .system) async throws -> Summary {
        let origin = RequestOrigin(actor: .commandLine(label: "demo"))
        let organization: Organization
        let key: IssuedAPIKey
        if let existing = try await services.directory.organizations().first(where: { $0.name == organizationName }) {
            organization = existing
            key = try await services.directory.createAPIKey(organizationID: existing.id, name: try MemberName(parsing: "demo key"), origin: origin)
        } else {
            let owner = people[0]
            let created = try await services.directory.createOrganization(
                name: try MemberName(parsing: organizationName), ownerName: try MemberName(parsing: owner.name), ownerPhone: try PhoneNumber(parsing: owner.phone), origin: origin)
            organization = created.organization
            key = created.key
        }
        var members = try await services.directory.members(organizationID: organization.id)
        for person in people.dropFirst() where !members.contains(where: { $0.phone.e164 == person.phone }) {
            members.append(
                try await services.directory.addMember(
                    organizationID: organization.id, name: try MemberName(parsing: person.name), phone: try PhoneNumber(parsing: person.phone), role: person.role,
                    origin: origin))
        }
        var summaries: [MemberSummary] = []
        let now = clock.now()
        for person in people {
            guard let member = members.first(where: { $0.phone.e164 == person.phone }) else { continue }
            let live = try await services.directory.sessions(of: member).filter { $0.isLive(at: now) }.count
            var tokens: [(String, String)] = []
            if live == 0 {
                for device in person.devices {
                    tokens.append((device, try await services.signIn.openSession(for: member, deviceName: device, origin: origin)))
                }
            }
            summaries.append(MemberSummary(member: member, liveSessions: live + tokens.count, newTokens: tokens))
        }
        return Summary(organization: organization, key: key, members: summaries)
    }
}
