import Hummingbird

/// The context of every API-key route. The key is not optional here: `APIKeyMiddleware` put it in the
/// parent context, and a request without one never reaches a handler, so no handler can forget the check.
struct AdminRequestContext: ChildRequestContext {
    var coreContext: CoreRequestContextStorage
    let key: APIKey
    let clientIP: String?

    init(context: TeamGateRequestContext) throws {
        guard let key = context.apiKey?.key else { throw TeamGateError.invalidAPIKey }
        self.coreContext = context.coreContext
        self.key = key
        self.clientIP = context.clientIP
    }

    var organizationID: String { key.organizationID }

    /// Who is asking and from where, as the audit records it.
    var origin: RequestOrigin { RequestOrigin(actor: .apiKey(key), requestID: id, clientIP: clientIP) }
}

/// Who holds the key: 401 before anything else about the request is looked at, as NestJS guards do.
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = TeamGateRequestContext
    let apiKeys: APIKeys

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let secret = Credentials.apiKey(in: request.headers) else { throw TeamGateError.invalidAPIKey }
        var context = context
        context.apiKey = CheckedAPIKey(try await apiKeys.authenticate(secret: secret, clientAddress: context.clientIP))
        return try await next(request, context)
    }
}

/// The per-key rate, taken before the key is looked up, so a key over its rate costs no lookup.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = TeamGateRequestContext
    let limiter: RateLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let secret = Credentials.apiKey(in: request.headers) { try limiter.take(secret: secret) }
        return try await next(request, context)
    }
}
