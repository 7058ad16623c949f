import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore

/// The service's parts, assembled once: the CLI, the server and the tests all start from here.
public struct TeamGateServices: Sendable {
    public let store: any TeamGateStore
    public let directory: TeamDirectory
    public let logout: Logout
    public let signIn: SignIn
    public let webhooks: Webhooks
    public let clock: WallClock

    public init(
        store: any TeamGateStore,
        otpSender: any OTPSender,
        clock: WallClock = .system,
        policy: SignIn.Policy = SignIn.Policy(),
        webhookTargets: WebhookTargets = WebhookTargets(),
        unknownCredentialsPerMinute: Int = 100
    ) {
        self.store = store
        self.clock = clock
        self.directory = TeamDirectory(store: store, clock: clock)
        self.logout = Logout(store: store, clock: clock, unknownKeysPerMinute: unknownCredentialsPerMinute)
        self.signIn = SignIn(store: store, sender: otpSender, clock: clock, policy: policy, unknownTokensPerMinute: unknownCredentialsPerMinute)
        self.webhooks = Webhooks(store: store, clock: clock, targets: webhookTargets)
    }

    /// Opens the configured database and code sender. `otpSender` replaces the configured one (embedding, tests).
    /// `close()` ends the database connections.
    public static func open(
        _ configuration: TeamGateConfiguration,
        logger: Logger,
        otpSender: (any OTPSender)? = nil,
        clock: WallClock = .system
    ) async throws -> TeamGateServices {
        let store: SQLStore
        switch configuration.databaseLocation {
        case .sqlite(let path): store = try SQLStore(sqlitePath: path, synchronous: configuration.sqliteSynchronous)
        case .postgres(let url): store = try await SQLStore.postgres(url: url, poolSize: configuration.postgresPoolSize, logger: logger)
        }
        let sender: any OTPSender =
            otpSender
            ?? {
                switch configuration.otpSender {
                case .webhook(let url): WebhookOTPSender(url: url, secret: configuration.otpWebhookSecret)
                case .log, .none: LogOTPSender(logger: logger)
                }
            }()
        var policy = SignIn.Policy()
        policy.sessionLifetime = TimeInterval(configuration.sessionLifetimeHours) * 3600
        policy.codesPerAddress = configuration.signInCodesPerAddress
        policy.wrongCodesPerAddress = configuration.wrongCodesPerAddress
        return TeamGateServices(
            store: store, otpSender: sender, clock: clock, policy: policy,
            webhookTargets: WebhookTargets(allowedHosts: configuration.webhookAllowedHosts),
            unknownCredentialsPerMinute: configuration.unknownCredentialsPerMinute)
    }
}

extension TeamGateServices {
    /// Stops following other instances and closes the database connections (PostgreSQL); SQLite needs nothing.
    public func close() async {
        await (store as? SQLStore)?.close()
    }
}

/// Every route of the server, behind the error mapping. Throws when the library's resources are missing.
public func buildRouter(services: TeamGateServices, configuration: TeamGateConfiguration) throws -> Router<TeamGateRequestContext> {
    let router = Router(context: TeamGateRequestContext.self)
    let routes = RouteTable()
    router.add(middleware: ErrorMiddleware(routes: routes))
    router.add(middleware: ClientAddressMiddleware(trustedProxies: configuration.trustedProxies))
    SystemController().register(on: router, routes: routes)
    let limiter = RateLimiter(perSecond: configuration.rateLimitPerSecond, burst: configuration.rateLimitBurst)
    let gate = AdminGate(logout: services.logout, store: services.store, clock: services.clock, bodyLimit: configuration.bodyLimit, limiter: limiter)
    LogoutController(logout: services.logout, gate: gate, bodyLimit: configuration.bodyLimit).register(on: router, routes: routes)
    MemberController(signIn: services.signIn, bodyLimit: configuration.bodyLimit).register(on: router, routes: routes)
    TeamController(directory: services.directory, gate: gate).register(on: router, routes: routes)
    SessionsController(directory: services.directory, logout: services.logout, gate: gate).register(on: router, routes: routes)
    AuditController(directory: services.directory, gate: gate).register(on: router, routes: routes)
    WebhooksController(webhooks: services.webhooks, gate: gate).register(on: router, routes: routes)
    ConsoleController(services: services, bodyLimit: configuration.bodyLimit).register(on: router, routes: routes)
    SessionEventsController(signIn: services.signIn, store: services.store).register(on: router, routes: routes)
    RevocationsController(store: services.store, gate: gate).register(on: router, routes: routes)
    try DocsController().register(on: router, routes: routes)
    return router
}

/// The HTTP server for `services`, listening where `configuration` says.
public func buildApplication(
    configuration: TeamGateConfiguration,
    services: TeamGateServices,
    logger: Logger,
    onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let router = try buildRouter(services: services, configuration: configuration)
    return Application(
        router: router,
        server: server(router: router, configuration: configuration),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "TeamGate"),
        services: [
            WebhookDispatcher(
                store: services.store, clock: services.clock, logger: logger, targets: services.webhooks.targets,
                retryBase: configuration.webhookRetrySeconds),
            CodeSender(signIn: services.signIn, logger: logger),
            Housekeeping(store: services.store, clock: services.clock, logger: logger),
        ],
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
}

/// HTTP/1.1 with the WebSocket upgrade `GET /me/events` needs, under the same limits as plain HTTP.
func server(router: Router<TeamGateRequestContext>, configuration: TeamGateConfiguration) -> HTTPServerBuilder {
    let idle = TimeAmount.seconds(Int64(configuration.idleTimeoutSeconds))
    let channelConfiguration = HTTP1WebSocketUpgradeChannel.Configuration(
        http1: .init(
            idleTimeout: idle,
            httpDecoderConfiguration: .init(maxHeaderFieldSize: 16 * 1024, maxHeaderListSize: 64 * 1024, maxHeaderFieldCount: 200)),
        // Pings twice per idle period, so a quiet but connected device is never taken for a dead one.
        ws: .init(autoPing: .enabled(timePeriod: .seconds(max(1, Int64(configuration.idleTimeoutSeconds) / 2))))
    )
    let webSocketResponder = router.buildResponder()
    return HTTPServerBuilder { responder in
        GuardedChildChannel(
            inner: HTTP1WebSocketUpgradeChannel(responder: responder, webSocketResponder: webSocketResponder, configuration: channelConfiguration),
            idleTimeout: idle)
    }
}
