import Hummingbird
import HummingbirdWebSocket
import NIOCore
import Synchronization

/// The request context of every route: Hummingbird's core storage, the client's address, and the
/// WebSocket upgrade slot `GET /me/events` uses.
public struct TeamGateRequestContext: RequestContext, RemoteAddressRequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// hummingbird-websocket keeps the upgraded route's context inside this reference, and the context holds
    /// the reference: a cycle, so every socket's context (its session, its logger) outlived it for good. The
    /// reference lives in `webSocketSlot`, which `SessionEventsController` empties once the socket starts.
    public var webSocket: WebSocketHandlerReference<Self> { webSocketSlot.reference }
    let webSocketSlot: WebSocketSlot
    /// The connection: for a refused WebSocket upgrade's answer (`UpgradeRefusals`), and to close one whose body
    /// came too slowly (`ErrorMiddleware`).
    let channel: any Channel
    var channelID: ObjectIdentifier { ObjectIdentifier(channel) }

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.webSocketSlot = WebSocketSlot()
        self.channel = source.channel
        self.clientIP = remoteAddress?.ipAddress
    }

    /// The client's IP, as the audit records it and the per-address limits count it: the peer's, or the
    /// one a trusted proxy forwarded (`ClientAddressMiddleware`).
    var clientIP: String?
    /// The caller's API key, once `APIKeyMiddleware` has checked it; `AdminRequestContext` requires it.
    /// Boxed: every request's context is copied several times, and most requests carry no key.
    var apiKey: CheckedAPIKey?
    /// The member's live session, once `MemberSessionMiddleware` has checked it; `MemberRequestContext` requires it.
    var memberSession: AuthenticatedSession?
    /// The console's admin, once `ConsoleAdminMiddleware` has checked them; `ConsoleRequestContext` requires them.
    var consoleAdmin: ConsoleAdmin?
}

/// An API key `APIKeyMiddleware` has checked, by reference.
final class CheckedAPIKey: Sendable {
    let key: APIKey

    init(_ key: APIKey) {
        self.key = key
    }
}

/// Where a request context keeps its WebSocket handler reference, until `release()` breaks the cycle the
/// upgrade makes through it (`TeamGateRequestContext.webSocket`).
final class WebSocketSlot: Sendable {
    private let held = Mutex<WebSocketHandlerReference<TeamGateRequestContext>?>(WebSocketHandlerReference())

    /// The reference; once released, an empty one (nothing reads it after the upgrade).
    var reference: WebSocketHandlerReference<TeamGateRequestContext> { held.withLock { $0 } ?? WebSocketHandlerReference() }

    func release() {
        held.withLock { $0 = nil }
    }
}
