import Foundation
import Hummingbird
import Logging

/// The service's parts, assembled once: the CLI, the server and the tests all start from here.
public struct TeamGateServices: Sendable {
    public let store: any TeamGateStore
    public let directory: TeamDirectory
    public let logout: Logout
    public let signIn: SignIn

    public init(store: any TeamGateStore, otpSender: any OTPSender, clock: WallClock = .system, policy: SignIn.Policy = SignIn.Policy()) {
        self.store = store
        self.directory = TeamDirectory(store: store, clock: clock)
        self.logout = Logout(store: store, clock: clock)
        self.signIn = SignIn(store: store, sender: otpSender, clock: clock, policy: policy)
    }

    /// Opens the configured database and code sender. `otpSender` replaces the configured one (embedding, tests).
    public static func open(
        _ configuration: TeamGateConfiguration,
        logger: Logger,
        otpSender: (any OTPSender)? = nil,
        clock: WallClock = .system
    ) throws -> TeamGateServices {
        let store = try SQLiteStore(path: configuration.database)
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
        return TeamGateServices(store: store, otpSender: sender, clock: clock, policy: policy)
    }
}

/// Every route of the server, behind the error mapping. Throws when the library's resources are missing.
public func buildRouter(services: TeamGateServices, configuration: TeamGateConfiguration) throws -> Router<TeamGateRequestContext> {
    let router = Router(context: TeamGateRequestContext.self)
    let routes = RouteTable()
    router.add(middleware: ErrorMiddleware(routes: routes))
    SystemController().register(on: router, routes: routes)
    LogoutController(logout: services.logout, bodyLimit: configuration.bodyLimit).register(on: router, routes: routes)
    MemberController(signIn: services.signIn, bodyLimit: configuration.bodyLimit).register(on: router, routes: routes)
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
    Application(
        router: try buildRouter(services: services, configuration: configuration),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "TeamGate"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
}
