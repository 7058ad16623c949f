import Hummingbird

/// The context of every SCIM route: the provisioning token is not optional here. `ProvisioningTokenMiddleware`
/// checked it, as `APIKeyMiddleware` checks the API's keys, through the same `APIKeys`.
struct SCIMRequestContext: ChildRequestContext {
    var coreContext: CoreRequestContextStorage
    let token: APIKey
    let clientIP: String?

    init(context: TeamGateRequestContext) throws {
        guard let token = context.apiKey?.key, token.purpose == .provisioning else { throw ProvisioningTokenMiddleware.refusal }
        self.coreContext = context.coreContext
        self.token = token
        self.clientIP = context.clientIP
    }

    var organizationID: String { token.organizationID }

    /// The directory, named by its token, as the audit records it.
    var origin: RequestOrigin { RequestOrigin(actor: .directory(token), requestID: id, clientIP: clientIP) }
}

/// Who holds the provisioning token (`Authorization: Bearer`): 401 before anything else about the request is looked at.
struct ProvisioningTokenMiddleware: RouterMiddleware {
    typealias Context = TeamGateRequestContext
    let apiKeys: APIKeys

    static let refusal = APIError(
        .unauthorized, "A valid provisioning token is required: Authorization: Bearer <token> from the console's Settings → Provisioning.",
        headers: [.wwwAuthenticate: #"Bearer realm="TeamGate SCIM""#])

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let secret = Credentials.bearerToken(in: request.headers) else { throw Self.refusal }
        var context = context
        do {
            context.apiKey = CheckedAPIKey(try await apiKeys.authenticate(secret: secret, clientAddress: context.clientIP, purpose: .provisioning))
        } catch TeamGateError.invalidAPIKey {
            throw Self.refusal
        }
        return try await next(request, context)
    }
}
