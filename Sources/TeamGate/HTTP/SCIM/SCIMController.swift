import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The SCIM 2.0 service (RFC 7644) at `/scim/v2`: the directory's users and the role groups, for the organisation whose
/// provisioning token the request carries. Handlers read the request, call `Provisioning`, and answer SCIM JSON.
struct SCIMController {
    static let base = "/scim/v2"
    static let contentType = "application/scim+json"

    let provisioning: Provisioning
    let bodyLimit: Int

    func addRoutes(to routes: Routes<SCIMRequestContext>) {
        let base = Self.base
        routes.on(.get, base + "/ServiceProviderConfig") { _, _ in Self.answer(SCIMDiscovery.serviceProviderConfig(baseURL: provisioning.baseURL)) }
        routes.on(.get, base + "/ResourceTypes") { _, _ in Self.list(SCIMDiscovery.resourceTypes(baseURL: provisioning.baseURL)) }
        routes.on(.get, base + "/ResourceTypes/{id}") { request, context in
            try Self.one(SCIMDiscovery.resourceTypes(baseURL: provisioning.baseURL), id: try context.parameters.require("id"), kind: "ResourceType")
        }
        routes.on(.get, base + "/Schemas") { _, _ in Self.list(SCIMDiscovery.schemas(baseURL: provisioning.baseURL)) }
        routes.on(.get, base + "/Schemas/{id}") { request, context in
            try Self.one(SCIMDiscovery.schemas(baseURL: provisioning.baseURL), id: try context.parameters.require("id"), kind: "Schema")
        }
        routes.on(.get, base + "/Users", use: listUsers)
        routes.on(.post, base + "/Users/.search", use: searchUsers)
        routes.on(.post, base + "/Groups/.search", use: searchGroups)
        routes.on(.post, base + "/.search") { _, _ -> Response in
            throw SCIMFailure(.notImplemented, "Search one resource type at a time: POST /Users/.search or /Groups/.search.")
        }
        routes.on(.post, base + "/Users", use: createUser)
        routes.on(.get, base + "/Users/{id}", use: user)
        routes.on(.put, base + "/Users/{id}", use: replaceUser)
        routes.on(.patch, base + "/Users/{id}", use: patchUser)
        routes.on(.delete, base + "/Users/{id}", use: deleteUser)
        routes.on(.get, base + "/Groups", use: listGroups)
        routes.on(.post, base + "/Groups") { _, _ -> Response in throw Self.fixedGroups }
        routes.on(.get, base + "/Groups/{id}", use: group)
        routes.on(.put, base + "/Groups/{id}", use: replaceGroup)
        routes.on(.patch, base + "/Groups/{id}", use: patchGroup)
        routes.on(.delete, base + "/Groups/{id}") { _, _ -> Response in throw Self.fixedGroups }
    }

    static let fixedGroups = SCIMFailure(.notSupported, "The groups are the team's four roles: they can be joined and left, not created or deleted.")

    // MARK: Users

    @Sendable func listUsers(_ request: Request, context: SCIMRequestContext) async throws -> Response {
        let query = try Self.listQuery(request)
        let page = try await provisioning.users(query.list, organizationID: context.organizationID)
        return Self.listResponse(page, projection: query.projection)
    }

    /// `POST /Users/.search` (RFC 7644 §3.4.3): the list's query in a body, for filters too long or too private for a URL.
    @Sendable func searchUsers(_ request: Request, context: SCIMRequestContext) async throws -> Response {
        let query = try Self.searchQuery(try await readBody(request))
        return Self.listResponse(try await provisioning.users(query.list, organizationID: context.organizationID), projection: query.projection)
    }

    @Sendable func searchGroups(_ request: Request, context: SCIMRequestContext) async throws -> Response {
        let query = try Self.searchQuery(try await readBody(request))
        let page = try await provisioning.groups(query.list, organizationID: context.organizationID, withMembers: query.projection.includes("members"))
        return Self.listResponse(page, projection: query.projection)
    }

    @Sendable func user(_ request: Request, context: SCIMRequestContext) async throws -> Response {
        let projection = try Self.projection(request)
        return Self.answer(projection.apply(to: try await provisioning.user(id: try context.parameters.require("id"), organizationID: context.organizationID)))
    }

    @Sendable func createUser(_ request: Request, context: SCIMRequestContext) async throws -> Response {
        let body = try await readBody(request)
        let user = try await provisioning.createUser(body, organizationID: context.organizationID, origin: context.origin)
        var headers: HTTPFields = [:]
        if let location = user.member(named: "meta")?.member(named: "location")?.string { headers[.location] = location }
        return Self.answer(try Self.projection(request).apply(to: user), status: .created, headers: headers)
    }

    @Sendable func replaceUser(_ request: Request, context: SCIMRequestContext) async throws -> Response {
        let body = try await readBody(request)
        let user = try await provisioning.replaceUser(
            id: try context.parameters.require("id"), with: body, organizationID: context.organizationID, origin: context.origin)
        return Self.answer(try Self.projection(request).apply(to: user))
    }

    @Sendable func patchUser(_ request: Request, context: SCIMRequestContext) async throws -> Response {
        let patch = try SCIMPatch(body: try await readBody(request))
        let user = try await provisioning.patchUser(
            id: try context.parameters.require("id"), with: patch, organizationID: context.organizationID, origin: context.origin)
        return Self.answer(try Self.projection(request).apply(to: user))
    }

    @Sendable func deleteUser(_ request: Request, context: SCIMRequestContext) async throws -> Response {
        try await provisioning.deleteUser(id: try context.parameters.require("id"), organizationID: context.organizationID, origin: context.origin)
        return Response(status: .noContent)
    }

    // MARK: Groups

    @Sendable func listGroups(_ request: Request, context: SCIMRequestContext) async throws -> Response {
        let query = try Self.listQuery(request)
        let page = try await provisioning.groups(query.list, organizationID: context.organizationID, withMembers: query.projection.includes("members"))
        return Self.listResponse(page, projection: query.projection)
    }

    @Sendable func group(_ request: Request, context: SCIMRequestContext) async throws -> Response {
        let projection = try Self.projection(request)
        let group = try await provisioning.group(
            id: try context.parameters.require("id"), organizationID: context.organizationID, withMembers: projection.includes("members"))
        return Self.answer(projection.apply(to: group))
    }

    @Sendable func replaceGroup(_ request: Request, context: SCIMRequestContext) async throws -> Response {
        let body = try await readBody(request)
        let group = try await provisioning.replaceGroup(
            id: try context.parameters.require("id"), with: body, organizationID: context.organizationID, origin: context.origin)
        return Self.answer(try Self.projection(request).apply(to: group))
    }

    /// 204: a role group's members can be many, and RFC 7644 lets a PATCH answer without the resource.
    @Sendable func patchGroup(_ request: Request, context: SCIMRequestContext) async throws -> Response {
        let patch = try SCIMPatch(body: try await readBody(request))
        try await provisioning.patchGroup(id: try context.parameters.require("id"), with: patch, organizationID: context.organizationID, origin: context.origin)
        return Response(status: .noContent)
    }

    // MARK: Reading and answering

    func readBody(_ request: Request) async throws -> ExactJSON {
        let data = try await JSONObjectBody.readBytes(request, limit: bodyLimit)
        guard !data.isEmpty else { throw SCIMFailure(.invalidSyntax, "The request needs a JSON body.") }
        do {
            return try ExactJSON(parsing: data)
        } catch {
            throw SCIMFailure(.invalidSyntax, "The body is not valid JSON: \(error.problem) at byte \(error.offset).")
        }
    }

    static func projection(_ request: Request) throws -> SCIMProjection {
        let fields = request.queryFields
        return try SCIMProjection(attributes: fields["attributes"], excludedAttributes: fields["excludedAttributes"])
    }

    static func listQuery(_ request: Request) throws -> (list: Provisioning.ListQuery, projection: SCIMProjection) {
        let fields = request.queryFields
        let startIndex = try integer(fields["startIndex"], name: "startIndex") ?? 1
        let count = try integer(fields["count"], name: "count") ?? Provisioning.defaultPageSize
        return (Provisioning.ListQuery(filter: try filter(fields["filter"]), startIndex: startIndex, count: count), try projection(request))
    }

    /// A SearchRequest's body: the same parameters as a list's query, `attributes` as lists and numbers as numbers.
    static func searchQuery(_ body: ExactJSON) throws -> (list: Provisioning.ListQuery, projection: SCIMProjection) {
        guard body.objectMembers != nil else { throw SCIMFailure(.invalidSyntax, "A search is a JSON object (a SearchRequest).") }
        func list(_ name: String) throws -> String? {
            guard let value = body.member(named: name), !value.isNull else { return nil }
            guard let items = value.array?.compactMap(\.string) ?? value.string.map({ [$0] }) else { throw SCIMFailure(.invalidValue, "\(name) must be a list of names.") }
            return items.joined(separator: ",")
        }
        func number(_ name: String) throws -> Int? {
            guard let value = body.member(named: name), !value.isNull else { return nil }
            guard case .number(let text) = value, let number = Int(text) else { throw SCIMFailure(.invalidValue, "\(name) must be an integer.") }
            return number
        }
        guard body.member(named: "filter").map({ $0.isNull || $0.string != nil }) ?? true else { throw SCIMFailure(.invalidFilter, "filter must be a string.") }
        let query = Provisioning.ListQuery(
            filter: try filter(body.member(named: "filter")?.string), startIndex: try number("startIndex") ?? 1,
            count: try number("count") ?? Provisioning.defaultPageSize)
        return (query, try SCIMProjection(attributes: try list("attributes"), excludedAttributes: try list("excludedAttributes")))
    }

    private static func filter(_ text: String?) throws -> SCIMFilter? {
        guard let text, !text.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        do {
            return try SCIMFilter(parsing: text)
        } catch {
            throw SCIMFailure.syntax(error, as: .invalidFilter)
        }
    }

    private static func integer(_ text: String?, name: String) throws -> Int? {
        guard let text, !text.isEmpty else { return nil }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else { throw SCIMFailure(.invalidValue, "\(name) must be an integer.") }
        return value
    }

    static func answer(_ value: ExactJSON, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = contentType
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: value.text)))
    }

    static func listResponse(_ page: Provisioning.ListPage, projection: SCIMProjection) -> Response {
        answer(
            .object([
                ("schemas", .array([.string(SCIMSchema.listResponse)])), ("totalResults", .number(String(page.totalResults))),
                ("startIndex", .number(String(page.startIndex))), ("itemsPerPage", .number(String(page.resources.count))),
                ("Resources", .array(page.resources.map(projection.apply))),
            ]))
    }

    /// A discovery list: every item, one page.
    static func list(_ items: [ExactJSON]) -> Response {
        listResponse(Provisioning.ListPage(resources: items, totalResults: items.count, startIndex: 1), projection: .everything)
    }

    static func one(_ items: [ExactJSON], id: String, kind: String) throws -> Response {
        guard let item = items.first(where: { $0.member(named: "id")?.string == id }) else { throw SCIMFailure(.notFound, "\(kind) \(id.prefix(100)) not found") }
        return answer(item)
    }
}
