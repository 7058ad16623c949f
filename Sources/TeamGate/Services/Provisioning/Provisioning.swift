import Foundation

/// The company's directory (Okta, Entra ID, any SCIM 2.0 client) keeping the team: directory users are members,
/// the four roles are its groups. Every change goes through the team's rules (`TeamRules`) with the directory as
/// the actor, and every end of sessions through `SessionEnds`, as the API's and the console's do.
public struct Provisioning: Sendable {
    let store: any TeamGateStore
    let transactions: Transactions
    let clock: WallClock
    /// Where the SCIM service answers (`<public-url>/scim/v2`): resources' `location`s and `$ref`s start here.
    public let baseURL: String

    /// A list request's filter and page. `startIndex` is 1-based, as SCIM's.
    public struct ListQuery: Sendable {
        public let filter: SCIMFilter?
        public let startIndex: Int
        public let count: Int

        public init(filter: SCIMFilter?, startIndex: Int, count: Int) {
            self.filter = filter
            self.startIndex = startIndex
            self.count = count
        }
    }

    /// A page of resources and how many match in all.
    public struct ListPage: Sendable {
        public let resources: [ExactJSON]
        public let totalResults: Int
        public let startIndex: Int
    }

    /// The most resources one page holds (`ServiceProviderConfig`'s `filter.maxResults`); a larger `count` gets this many.
    public static let maximumPageSize = 1_000
    /// The page size when a client names none.
    public static let defaultPageSize = 100
    /// Users read at a time when a filter needs every user looked at (one no index answers).
    static let scanBatch = 1_000

    // MARK: Users

    public func user(id: String, organizationID: String) async throws -> ExactJSON {
        guard let (user, member) = try await store.scimUser(memberID: id, organizationID: organizationID) else { throw Self.userNotFound(id) }
        return user.resource(member: member, baseURL: baseURL)
    }

    /// The users `query` selects: an equality on `userName`, `externalId` or `id` (alone or within an `and`) is an
    /// index lookup; any other filter looks at every user; no filter reads just the page.
    public func users(_ query: ListQuery, organizationID: String) async throws -> ListPage {
        let first = max(query.startIndex, 1)
        let count = min(max(query.count, 0), Self.maximumPageSize)
        guard let filter = query.filter else {
            let total = try await store.scimUserCount(organizationID: organizationID)
            let page = count == 0 ? [] : try await store.scimUsers(organizationID: organizationID, offset: first - 1, limit: count)
            return ListPage(resources: page.map { $0.user.resource(member: $0.member, baseURL: baseURL) }, totalResults: total, startIndex: first)
        }
        var matched: [ExactJSON] = []
        if let (attribute, value) = filter.indexedEquality {
            for (user, member) in try await store.scimUsers(organizationID: organizationID, attribute: attribute, equals: value) {
                let resource = user.resource(member: member, baseURL: baseURL)
                if filter.matches(resource) { matched.append(resource) }
            }
        } else {
            var offset = 0
            while true {
                let batch = try await store.scimUsers(organizationID: organizationID, offset: offset, limit: Self.scanBatch)
                for (user, member) in batch {
                    let resource = user.resource(member: member, baseURL: baseURL)
                    if filter.matches(resource) { matched.append(resource) }
                }
                guard batch.count == Self.scanBatch else { break }
                offset += batch.count
            }
        }
        let page = matched.dropFirst(first - 1).prefix(count)
        return ListPage(resources: Array(page), totalResults: matched.count, startIndex: first)
    }

    /// The directory's token, checked again in each write's own transaction: a token another process revoked a moment ago
    /// (the CLI, another instance) writes nothing, as a revoked key logs nobody out.
    static func checkToken(of origin: RequestOrigin, in work: any UnitOfWork) throws {
        if case .directory(let token) = origin.actor, try work.liveAPIKey(id: token.id) == nil { throw TeamGateError.invalidAPIKey }
    }

    static func userNotFound(_ id: String) -> SCIMFailure { SCIMFailure(.notFound, "User \(id.prefix(100)) not found") }

    // MARK: Groups

    /// The four role groups, with their directory users unless `withMembers` is false (`excludedAttributes=members`).
    public func groups(_ query: ListQuery, organizationID: String, withMembers: Bool) async throws -> ListPage {
        var matched: [ExactJSON] = []
        for role in Role.allCases {
            let group = SCIMGroup(role: role)
            // The filter sees the group without its members unless it names them; members are read only when shown.
            let members = withMembers ? try await store.scimUsers(organizationID: organizationID, role: role) : nil
            let resource = group.resource(members: members, baseURL: baseURL)
            if query.filter?.matches(resource) ?? true { matched.append(resource) }
        }
        let first = max(query.startIndex, 1)
        let page = matched.dropFirst(first - 1).prefix(min(max(query.count, 0), Self.maximumPageSize))
        return ListPage(resources: Array(page), totalResults: matched.count, startIndex: first)
    }

    public func group(id: String, organizationID: String, withMembers: Bool) async throws -> ExactJSON {
        guard let group = SCIMGroup(id: id) else { throw Self.groupNotFound(id) }
        let members = withMembers ? try await store.scimUsers(organizationID: organizationID, role: group.role) : nil
        return group.resource(members: members, baseURL: baseURL)
    }

    static func groupNotFound(_ id: String) -> SCIMFailure { SCIMFailure(.notFound, "Group \(id.prefix(100)) not found") }
}
