import Foundation
import Hummingbird

/// DoubleTick's Team API, same paths and shapes: `GET /team`, `GET /team/member`, `POST /team/members`,
/// `DELETE /team-member`, `PATCH /team-member/role`, `GET /roles`.
struct TeamController: Sendable {
    let directory: TeamDirectory
    let bodyLimit: Int

    func addRoutes(to routes: Routes<AdminRequestContext>) {
        routes.on(.get, "/team", use: team)
        routes.on(.get, "/team/member", use: member)
        routes.on(.post, "/team/members", use: addMembers)
        routes.on(.delete, "/team-member", use: removeMember)
        routes.on(.patch, "/team-member/role", use: changeRole)
        routes.on(.get, "/roles", use: roles)
    }

    /// A member in DoubleTick's shape (numbers as digits, as DoubleTick writes them).
    struct MemberBody: Encodable {
        struct Manager: Encodable {
            let id: String
            let name: String
            let phone: String
        }

        let id: String
        let name: String
        let phone: String
        let email: String?
        let joinDate: Date
        let reportingManager: [Manager]
        let orgRoleName: String
        let orgRoleId: Int
        let isOrganizationOwner: Bool
        /// False while the company's directory has the member deactivated.
        let isActive: Bool

        init(_ member: TeamMember, manager: TeamMember?) {
            id = member.id
            name = member.name
            phone = member.phone.digits
            email = member.email
            joinDate = member.createdAt
            reportingManager = manager.map { [Manager(id: $0.id, name: $0.name, phone: $0.phone.digits)] } ?? []
            orgRoleName = member.role.name
            orgRoleId = member.role.id
            isOrganizationOwner = member.isOwner
            isActive = !member.isDeactivated
        }

        // Written out so that an absent email is `null`, as DoubleTick sends it, not a missing key.
        enum CodingKeys: String, CodingKey {
            case id, name, phone, email, joinDate, reportingManager, orgRoleName, orgRoleId, isOrganizationOwner, isActive
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(name, forKey: .name)
            try container.encode(phone, forKey: .phone)
            try container.encode(email, forKey: .email)
            try container.encode(joinDate, forKey: .joinDate)
            try container.encode(reportingManager, forKey: .reportingManager)
            try container.encode(orgRoleName, forKey: .orgRoleName)
            try container.encode(orgRoleId, forKey: .orgRoleId)
            try container.encode(isOrganizationOwner, forKey: .isOrganizationOwner)
            try container.encode(isActive, forKey: .isActive)
        }
    }

    struct DataBody<Item: Encodable>: Encodable {
        let data: [Item]
    }

    struct Success: Encodable {
        let success = true
    }

    /// DoubleTick's answer has `data` only: `nextCursor` (left out when nil) appears only when there is a next page.
    struct TeamPageBody: Encodable {
        let data: [MemberBody]
        let nextCursor: String?
    }

    /// Without `limit`, the whole team as DoubleTick answers it, up to `TeamDirectory.unpagedTeamLimit` members.
    @Sendable func team(_ request: Request, context: AdminRequestContext) async throws -> Reply {
        let query = request.uri.queryParameters
        var problems: [String] = []
        var limit = TeamDirectory.unpagedTeamLimit
        if let text = query.get("limit") {
            if let value = Int(text), (1...1000).contains(value) { limit = value } else { problems.append("limit must be a whole number from 1 to 1000") }
        }
        let cursor = query.get("cursor")
        guard problems.isEmpty else { throw APIError.badRequest(problems) }
        let page = try await directory.teamPage(organizationID: context.organizationID, after: cursor, limit: limit)
        return try .json(
            .ok,
            TeamPageBody(data: page.members.map { MemberBody($0, manager: $0.reportingManagerID.flatMap { page.managers[$0] }) }, nextCursor: page.nextCursor))
    }

    @Sendable func member(_ request: Request, context: AdminRequestContext) async throws -> Reply {
        guard let text = request.uri.queryParameters.get("agentNumber"), let phone = PhoneNumber(validating: text) else {
            throw APIError.badRequest(["agentNumber must be a valid phone number"])
        }
        let member = try await directory.member(organizationID: context.organizationID, phone: phone)
        let manager = try await member.reportingManagerID.asyncFlatMap { id in
            try await directory.member(organizationID: context.organizationID, id: id)
        }
        return try .json(.ok, MemberBody(member, manager: manager))
    }

    @Sendable func addMembers(_ request: Request, context: AdminRequestContext) async throws -> Reply {
        let body = try await JSONObjectBody.read(request, limit: bodyLimit)
        var problems: [String] = []
        let managerText = body.optionalString("reportingManagerPhoneNumber", problems: &problems)
        var manager: PhoneNumber?
        if let managerText {
            manager = PhoneNumber(validating: managerText)
            if manager == nil { problems.append("reportingManagerPhoneNumber must be a valid phone number with country code") }
        }
        var members: [TeamDirectory.NewMember] = []
        if case .array(let items)? = body.fields["members"], !items.isEmpty, items.count <= 500 {
            for (index, item) in items.enumerated() {
                guard case .object(let fields) = item else {
                    problems.append("members.\(index) must be an object")
                    continue
                }
                let entry = JSONObjectBody(fields: fields)
                var own: [String] = []
                let name = entry.requiredName("name", problems: &own)
                let phone = entry.requiredPhone("phone", problems: &own)
                let email = entry.optionalText("email", maxLength: 254, problems: &own)
                if let email, !email.contains("@") { own.append("email must be an email") }
                let role = entry.optionalInt("orgRoleId", in: 1...4, problems: &own).flatMap(Role.init(rawValue:))
                if role == nil, !own.contains(where: { $0.hasPrefix("orgRoleId") }) { own.append("orgRoleId should not be empty") }
                problems += own.map { "members.\(index).\($0)" }
                if own.isEmpty, let name, let phone, let role {
                    members.append(.init(name: name, phone: phone, email: email, role: role))
                }
            }
        } else {
            problems.append("members must be an array of 1–500 members")
        }
        guard problems.isEmpty else { throw APIError.badRequest(problems) }
        try await directory.addMembers(organizationID: context.organizationID, reportingManagerPhone: manager, members: members, origin: context.origin)
        return try .json(.ok, Success())
    }

    @Sendable func removeMember(_ request: Request, context: AdminRequestContext) async throws -> Reply {
        var problems: [String] = []
        let body = try await JSONObjectBody.read(request, limit: bodyLimit)
        guard let phone = body.requiredPhone("memberPhoneNumber", problems: &problems) else { throw APIError.badRequest(problems) }
        _ = try await directory.removeMember(organizationID: context.organizationID, phone: phone, origin: context.origin)
        return try .json(.ok, Success())
    }

    struct RoleChanged: Encodable {
        let success = true
        let memberPhoneNumber: String
        let orgRoleId: Int
        let orgRoleName: String
    }

    @Sendable func changeRole(_ request: Request, context: AdminRequestContext) async throws -> Reply {
        let body = try await JSONObjectBody.read(request, limit: bodyLimit)
        var problems: [String] = []
        let phone = body.requiredPhone("memberPhoneNumber", problems: &problems)
        var role: Role?
        if case .object(let fields)? = body.fields["orgRole"] {
            let orgRole = JSONObjectBody(fields: fields)
            if let id = orgRole.optionalInt("roleId", in: 1...4, problems: &problems) {
                role = Role(rawValue: id)
            } else if let name = orgRole.optionalString("roleName", problems: &problems) {
                role = Role(nameOrID: name)
                if role == nil { problems.append("orgRole.roleName must be one of: \(Role.allCases.map(\.name).joined(separator: ", "))") }
            } else if problems.isEmpty {
                problems.append("orgRole must have roleId or roleName")
            }
        } else {
            problems.append("orgRole must be an object with roleId or roleName")
        }
        guard problems.isEmpty, let phone, let role else { throw APIError.badRequest(problems) }
        let member = try await directory.changeRole(organizationID: context.organizationID, phone: phone, to: role, origin: context.origin)
        return try .json(.ok, RoleChanged(memberPhoneNumber: member.phone.digits, orgRoleId: member.role.id, orgRoleName: member.role.name))
    }

    struct RoleBody: Encodable {
        let id: Int
        let name: String
        let description: String
        let type = "ORG"
        let permissions: [String]
        let isCustomRole = false
        let dateCreated: Date
        let dateUpdated: Date
    }

    @Sendable func roles(_ request: Request, context: AdminRequestContext) async throws -> Reply {
        let created = try await directory.organization(id: context.organizationID).createdAt
        return try .json(
            .ok,
            Role.allCases.map { RoleBody(id: $0.id, name: $0.name, description: $0.summary, permissions: $0.permissions, dateCreated: created, dateUpdated: created) })
    }
}

extension Optional {
    func asyncFlatMap<U>(_ transform: (Wrapped) async throws -> U?) async rethrows -> U? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
