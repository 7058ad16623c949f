import Foundation
import Hummingbird

/// `POST/GET/DELETE /oidc/clients`: the apps that sign the organisation's members in through TeamGate, managed with
/// the organisation's API key (the console's Settings → Apps and `teamgate oidc-clients` do the same).
struct OIDCClientsController {
    let oidc: OIDCProvider
    let bodyLimit: Int

    func addRoutes(to routes: Routes<AdminRequestContext>) {
        routes.on(.post, "/oidc/clients", use: create)
        routes.on(.get, "/oidc/clients", use: list)
        routes.on(.delete, "/oidc/clients/{clientId}", use: remove)
    }

    struct AppList: Encodable {
        let data: [OIDCClient.Description]
    }

    @Sendable func create(_ request: Request, context: AdminRequestContext) async throws -> Reply {
        let body = try await JSONObjectBody.read(request, limit: bodyLimit)
        var problems: [String] = []
        let name = body.requiredString("name", problems: &problems)
        let redirectURIs = Self.uris("redirectUris", in: body, problems: &problems)
        let postLogout = Self.uris("postLogoutRedirectUris", in: body, problems: &problems)
        let backchannel = body.optionalString("backchannelLogoutUri", problems: &problems)
        let isPublic = body.optionalBool("public", problems: &problems) ?? false
        guard problems.isEmpty, let name else { throw APIError.badRequest(problems) }
        let registered = try await oidc.register(
            OIDCClientRequest(
                name: name, redirectURIs: redirectURIs, postLogoutRedirectURIs: postLogout, backchannelLogoutURI: backchannel, isPublic: isPublic),
            organizationID: context.organizationID, origin: context.origin)
        return try .json(.created, OIDCClient.Description(registered.client, secret: registered.secret))
    }

    @Sendable func list(_ request: Request, context: AdminRequestContext) async throws -> Reply {
        try .json(.ok, AppList(data: try await oidc.apps(organizationID: context.organizationID, origin: context.origin).map { OIDCClient.Description($0) }))
    }

    @Sendable func remove(_ request: Request, context: AdminRequestContext) async throws -> Reply {
        try await oidc.remove(appID: context.parameters.get("clientId") ?? "", organizationID: context.organizationID, origin: context.origin)
        return try .json(.ok, TeamController.Success())
    }

    /// An optional array of strings; absent means none.
    static func uris(_ name: String, in body: JSONObjectBody, problems: inout [String]) -> [String] {
        switch body.fields[name] {
        case .none, .null?: return []
        case .array(let items)?:
            var uris: [String] = []
            for item in items {
                guard case .string(let uri) = item else {
                    problems.append("\(name) must be an array of URI strings")
                    return []
                }
                uris.append(uri)
            }
            return uris
        default:
            problems.append("\(name) must be an array of URI strings")
            return []
        }
    }
}
