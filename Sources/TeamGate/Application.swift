import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// The service's parts, assembled once: the CLI, the server and the tests all start from here.
public struct TeamGateServices: Sendable {
    public let store: any TeamGateStore
    public let directory: TeamDirectory
    public let apiKeys: APIKeys
    public let logout: Logout
    public let signIn: SignIn
    /// The console's own sessions (idle timeout, lifetime, fresh codes).
    public let consoleSessions: ConsoleSessions
    public let webhooks: Webhooks
    /// What `/ready` and `/metrics` say of the server.
    public let health: ServerHealth
    /// `Idempotency-Key` replays.
    public let idempotency: IdempotentReplays
    /// Where connected devices hear that their session ended.
    public let sessionEvents: SessionEventHub
    /// TeamGate as the OpenID Connect provider of the organisations' apps.
    public let oidc: OIDCProvider
    /// The company directories keeping their teams over SCIM.
    public let provisioning: Provisioning
    public let clock: WallClock

    public init(
        store: any TeamGateStore,
        otpSender: any OTPSender,
        clock: WallClock = .system,
        policy: SignIn.Policy = SignIn.Policy(),
        webhookTargets: WebhookTargets = WebhookTargets(),
        webhooksPerOrganization: Int = 20,
        unknownCredentialsPerMinute: Int = 100,
        consolePolicy: ConsolePolicy = ConsolePolicy(),
        issuer: String = "http://127.0.0.1:8080",
        oidcPolicy: OIDCProvider.Policy = OIDCProvider.Policy(),
        logger: Logger = Logger(label: "teamgate")
    ) {
        let sessionEvents = SessionEventHub()
        // Sessions other instances ended reach their devices here; this instance's own, through `Transactions`.
        store.observeSessionsEndedElsewhere { ended in sessionEvents.publish(ended) }
        let transactions = Transactions(store: store, sessionEvents: sessionEvents)
        let seenKeys = SeenAPIKeys()
        self.store = store
        self.clock = clock
        self.sessionEvents = sessionEvents
        self.directory = TeamDirectory(store: store, transactions: transactions, clock: clock, seenKeys: seenKeys)
        self.apiKeys = APIKeys(
            store: store, transactions: transactions, clock: clock, seenKeys: seenKeys, unknownKeysPerMinute: unknownCredentialsPerMinute)
        self.logout = Logout(store: store, transactions: transactions, clock: clock)
        self.signIn = SignIn(
            store: store, transactions: transactions, sender: otpSender, clock: clock, policy: policy, unknownTokensPerMinute: unknownCredentialsPerMinute,
            logger: logger)
        self.consoleSessions = ConsoleSessions(store: store, transactions: transactions, signIn: signIn, clock: clock, policy: consolePolicy)
        self.webhooks = Webhooks(
            store: store, transactions: transactions, clock: clock, targets: webhookTargets, perOrganization: webhooksPerOrganization)
        self.health = ServerHealth(store: store, clock: clock)
        self.idempotency = IdempotentReplays(store: store, clock: clock)
        self.oidc = OIDCProvider(
            issuer: issuer, store: store, transactions: transactions, clock: clock, policy: oidcPolicy, targets: webhookTargets,
            unknownTokensPerMinute: unknownCredentialsPerMinute)
        self.provisioning = Provisioning(
            store: store, transactions: transactions, clock: clock, baseURL: String(issuer.hasSuffix("/") ? issuer.dropLast() : issuer[...]) + SCIMController.base)
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
        case .sqlite(let path): store = try SQLStore(sqlitePath: path, synchronous: configuration.sqliteSynchronous, logger: logger)
        case .postgres(let url): store = try await SQLStore.postgres(
                url: url, poolSize: configuration.postgresPoolSize, timeout: .seconds(configuration.postgresTimeoutSeconds), logger: logger)
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
            webhooksPerOrganization: configuration.webhooksPerOrganization,
            unknownCredentialsPerMinute: configuration.unknownCredentialsPerMinute, consolePolicy: ConsolePolicy(configuration),
            issuer: configuration.issuer, logger: logger)
    }
}

extension TeamGateServices {
    /// Lets the writer commit what it holds and closes the database, for users without a service group (the CLI, tests).
    public func close() async {
        await store.close()
    }
}

/// Every route of the server, behind the error mapping. Throws when the library's resources are missing.
///
/// The API-key routes form one group: the per-key rate, then the key (`APIKeyMiddleware`), then a child
/// context that holds the key for sure (`AdminRequestContext`), then `Idempotency-Key` replays.
///
/// Every request passes, in order: the client's address and a trusted proxy's request id; the request id on the
/// answer, the request metrics and the access-log line (written to `logOutput`); the request's span (with
/// `--traces`); the error mapping.
public func buildRouter(
    services: TeamGateServices, configuration: TeamGateConfiguration, logOutput: LogOutput = .standardError
) throws -> Router<TeamGateRequestContext> {
    let router = Router(context: TeamGateRequestContext.self)
    let table = RouteTable()
    router.add(middleware: ClientAddressMiddleware(trustedProxies: configuration.trustedProxies))
    let accessLog = configuration.accessLog && configuration.logLevel <= .info ? AccessLog(format: configuration.logFormat, output: logOutput) : nil
    router.add(middleware: RequestLogMiddleware(accessLog: accessLog, metrics: configuration.metrics ? RequestMetrics() : nil))
    if configuration.traces != .off { router.add(middleware: RequestTracingMiddleware()) }
    router.add(middleware: ErrorMiddleware(routes: table))
    let routes = Routes(router: router, table: table)
    SystemController(health: services.health).addRoutes(to: routes)
    if configuration.metrics {
        let metrics = configuration.metricsToken.map { router.group().add(middleware: MetricsTokenMiddleware(token: $0)) } ?? router.group()
        MetricsController(health: services.health, sessionEvents: services.sessionEvents).addRoutes(to: Routes(router: metrics, table: table))
    }
    let members = MemberController(signIn: services.signIn, bodyLimit: configuration.bodyLimit)
    members.addRoutes(to: routes)
    // The member's own routes: the session (`Authorization: Bearer`), then a context that holds it for sure.
    let memberSessions = router.group().add(middleware: MemberSessionMiddleware(signIn: services.signIn)).group(context: MemberRequestContext.self)
    members.addSessionRoutes(to: Routes(router: memberSessions, table: table))
    // The device's socket: the same check (also `?token=`), before the upgrade, in the context the socket keeps.
    let sockets = router.group().add(middleware: MemberSessionMiddleware(signIn: services.signIn, forWebSocket: true))
    SessionEventsController(signIn: services.signIn, sessionEvents: services.sessionEvents, clock: services.clock).addRoutes(to: sockets, routes: table)
    ConsoleController(services: services, bodyLimit: configuration.bodyLimit, trustedProxies: configuration.trustedProxies)
        .addRoutes(to: router, table: table)
    try DocsController().addRoutes(to: routes)
    OIDCController(oidc: services.oidc, bodyLimit: configuration.bodyLimit).addRoutes(to: routes)
    let browser = BrowserSignIn(
        signIn: services.signIn, clock: services.clock, cookie: BrowserSessionCookie(publicURL: configuration.issuer, domain: configuration.cookieDomain))
    let address = ConsoleAddress(trustedProxies: configuration.trustedProxies)
    OIDCSignInController(oidc: services.oidc, browser: browser, bodyLimit: configuration.bodyLimit, address: address).addRoutes(to: routes)
    ForwardAuthController(
        browser: browser, issuer: configuration.issuer, returnAddress: ReturnAddress(cookieDomain: configuration.cookieDomain, publicURL: configuration.issuer),
        address: address, bodyLimit: configuration.bodyLimit
    ).addRoutes(to: routes)
    try MemberAppController().addRoutes(to: routes)

    let limiter = RateLimiter(perSecond: configuration.rateLimitPerSecond, burst: configuration.rateLimitBurst, clock: services.clock)
    let admin = router.group()
        .add(middleware: RateLimitMiddleware(limiter: limiter))
        .add(middleware: APIKeyMiddleware(apiKeys: services.apiKeys))
        .group(context: AdminRequestContext.self)
        .add(middleware: IdempotencyMiddleware(replays: services.idempotency, bodyLimit: configuration.bodyLimit))
    let adminRoutes = Routes(router: admin, table: table)
    let bodyLimit = configuration.bodyLimit
    LogoutController(logout: services.logout, clock: services.clock, bodyLimit: bodyLimit).addRoutes(to: adminRoutes)
    TeamController(directory: services.directory, bodyLimit: bodyLimit).addRoutes(to: adminRoutes)
    SessionsController(directory: services.directory, logout: services.logout, clock: services.clock, bodyLimit: bodyLimit).addRoutes(to: adminRoutes)
    AuditController(directory: services.directory).addRoutes(to: adminRoutes)
    WebhooksController(webhooks: services.webhooks, bodyLimit: bodyLimit).addRoutes(to: adminRoutes)
    RevocationsController(logout: services.logout).addRoutes(to: adminRoutes)
    APIKeysController(directory: services.directory).addRoutes(to: adminRoutes)
    OIDCClientsController(oidc: services.oidc, bodyLimit: bodyLimit).addRoutes(to: adminRoutes)

    // The directory's SCIM service: the same per-key rate, then the provisioning token through the same `APIKeys`.
    let scim = router.group()
        .add(middleware: RateLimitMiddleware(limiter: limiter))
        .add(middleware: ProvisioningTokenMiddleware(apiKeys: services.apiKeys))
        .group(context: SCIMRequestContext.self)
    SCIMController(provisioning: services.provisioning, bodyLimit: bodyLimit).addRoutes(to: Routes(router: scim, table: table))
    return router
}

/// The HTTP server for `services`, listening where `configuration` says.
public func buildApplication(
    configuration: TeamGateConfiguration,
    services: TeamGateServices,
    logger: Logger,
    logOutput: LogOutput = .standardError,
    onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let router = try buildRouter(services: services, configuration: configuration, logOutput: logOutput)
    return Application(
        router: router,
        server: server(router: router, configuration: configuration),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "TeamGate"),
        // On graceful shutdown the server stops first, then these in reverse order.
        services: [
            WebhookDispatcher(
                store: services.store, clock: services.clock, logger: logger, targets: services.webhooks.targets,
                retryBase: configuration.webhookRetrySeconds),
            CodeSender(signIn: services.signIn, logger: logger),
            BackChannelLogouts(
                store: services.store, provider: services.oidc, clock: services.clock, logger: logger, targets: services.webhooks.targets,
                retryBase: configuration.webhookRetrySeconds),
            Housekeeping(
                store: services.store, clock: services.clock, logger: logger,
                retention: HistoryRetention(
                    auditEventDays: configuration.auditRetentionDays, endedSessionDays: configuration.endedSessionRetentionDays,
                    webhookDeliveryDays: configuration.webhookDeliveryRetentionDays)),
            SessionEndFolding(store: services.store, logger: logger),
        ],
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
}

/// Everything `teamgate serve` runs, in one service group that SIGTERM and SIGINT shut down gracefully,
/// in this order: the devices' sockets are told the server is going away (`SessionSockets`); the server
/// stops accepting connections and finishes the requests in flight; the application's services stop in
/// reverse (housekeeping, code sender, webhook dispatcher); the store's writer commits what it holds and
/// the database closes. The same happens, and the process then exits non-zero, when the store meets a failure
/// it cannot go on after (`FatalFailureWatch`).
///
/// `observability` (the span exporter) runs first and so stops last, after the store: the spans of the last
/// requests and commits are sent before the process ends.
public func buildServiceGroup(
    configuration: TeamGateConfiguration,
    services: TeamGateServices,
    logger: Logger,
    observability: [any Service] = [],
    shutdownLimits: (graceful: Duration, cancellation: Duration) = (.seconds(8), .seconds(1)),
    onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
) throws -> ServiceGroup {
    let application = try buildApplication(configuration: configuration, services: services, logger: logger, onServerRunning: onServerRunning)
    let running: [any Service] = observability + [services.store, application, SessionSockets(hub: services.sessionEvents)]
    // The watch's failure shuts the group down gracefully, then `run()` throws it: the process exits non-zero.
    let watch = ServiceGroupConfiguration.ServiceConfiguration(
        service: FatalFailureWatch(store: services.store, logger: logger), failureTerminationBehavior: .gracefullyShutdownGroup)
    var group = ServiceGroupConfiguration(
        services: running.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) } + [watch], logger: logger)
    group.gracefulShutdownSignals = [.sigterm, .sigint]
    // SIGTERM ends the process within 10 s (Docker's patience) whatever hangs: past 8 s of graceful shutdown the
    // group is cancelled. No 201 is lost that way either: each was sent after its commit.
    // (`shutdownLimits`: a test of the order on a loaded machine gives the same steps more time.)
    group.maximumGracefulShutdownDuration = shutdownLimits.graceful
    group.maximumCancellationDuration = shutdownLimits.cancellation
    return ServiceGroup(configuration: group)
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
    let connections = ConnectionsPerAddress(limit: configuration.connectionsPerAddress, trustedProxies: configuration.trustedProxies)
    return HTTPServerBuilder { responder in
        GuardedChildChannel(
            inner: HTTP1WebSocketUpgradeChannel(responder: responder, webSocketResponder: webSocketResponder, configuration: channelConfiguration),
            idleTimeout: idle, headerDeadline: .seconds(min(10, Int64(configuration.idleTimeoutSeconds))), connections: connections)
    }
}
