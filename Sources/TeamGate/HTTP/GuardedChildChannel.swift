import HTTPTypes
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import Synchronization

/// Puts the limits of a plain HTTP connection on a connection that may become a WebSocket.
///
/// hummingbird-websocket's upgrade channel parses the first request before Hummingbird's own HTTP
/// handlers exist, so a client that never finishes its headers is never timed out there, and a request
/// past the header limits leaves the connection hanging. This adds an idle timer at the front of the
/// pipeline and a handler after the HTTP decoder that closes the connection on a decoding error or when
/// the timer fires; a deadline for the first request's headers (`HeaderDeadline`) and a cap on connections
/// per address block (`ConnectionsPerAddress`). Upgraded sockets stay alive through the WebSocket pings.
struct GuardedChildChannel<Inner: ServerChildChannel>: ServerChildChannel {
    let inner: Inner
    let idleTimeout: TimeAmount
    let headerDeadline: TimeAmount
    let connections: ConnectionsPerAddress

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Inner.Value> {
        guard connections.admit(channel) else {
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(ChannelError.alreadyClosed)
        }
        do {
            try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idleTimeout), position: .first)
            try channel.pipeline.syncOperations.addHandler(HeaderDeadline(deadline: headerDeadline), position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            try channel.pipeline.syncOperations.addHandler(CloseOnErrorOrIdle())
            return value
        }
    }

    func handle(value: Inner.Value, logger: Logger) async {
        // hummingbird-websocket answers every refused upgrade with an empty 400; ours say why, with the
        // status the same request gets as plain HTTP (401 for an ended session).
        let channelID = ObjectIdentifier(value.channel)
        // A failed upgrade future (the connection broke) has no refusal to answer: the inner handler sees
        // the same failure and closes the connection.
        if let upgradeResult = Self.upgradeResult(value),
            case .failedUpgrade(let http1, _) = try? await upgradeResult.get(),
            let refusal = UpgradeRefusals.shared.take(channel: channelID)
        {
            await Self.answer(refusal, on: http1, logger: logger)
            return
        }
        UpgradeRefusals.shared.forget(channel: channelID)
        await inner.handle(value: value, logger: logger)
    }

    /// The library keeps the upgrade's outcome internal; reflection reads it. Should a release rename
    /// it, refusals fall back to the library's 400 (and the WebSocket test that expects 401 fails).
    private static func upgradeResult(_ value: Inner.Value) -> EventLoopFuture<HTTP1WebSocketUpgradeChannel.UpgradeResult>? {
        Mirror(reflecting: value).children.first { $0.label == "upgradeResult" }?.value
            as? EventLoopFuture<HTTP1WebSocketUpgradeChannel.UpgradeResult>
    }

    private static func answer(_ refusal: APIError, on http1: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, logger: Logger) async {
        let body = ByteBuffer(string: refusal.body)
        var headers = refusal.headers
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.contentLength] = String(body.readableBytes)
        headers[.connection] = "close"
        do {
            try await http1.executeThenClose { _, outbound in
                try await outbound.write(contentsOf: [.head(HTTPResponse(status: refusal.status, headerFields: headers)), .body(body), .end(nil)])
            }
        } catch {
            logger.trace("Could not answer a refused upgrade", metadata: ["error": "\(error)"])
        }
    }
}

/// Why `GET /me/events` refused a WebSocket upgrade, kept per connection between the route that
/// decides and the channel that answers (the library passes nothing between them).
final class UpgradeRefusals: Sendable {
    static let shared = UpgradeRefusals()
    private let refusals = Mutex<[ObjectIdentifier: APIError]>([:])

    func record(_ error: any Error, channel: ObjectIdentifier) {
        let refusal: APIError
        switch error {
        case let error as APIError: refusal = error
        case let error as TeamGateError: refusal = APIError(error)
        default: return
        }
        refusals.withLock { $0[channel] = refusal }
    }

    func take(channel: ObjectIdentifier) -> APIError? {
        refusals.withLock { $0.removeValue(forKey: channel) }
    }

    func forget(channel: ObjectIdentifier) {
        _ = take(channel: channel)
    }
}

/// Closes the connection when a handler before it reports an error or the idle timer fires.
final class CloseOnErrorOrIdle: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Only a request the decoder cannot parse ends the connection here; other errors go on to Hummingbird.
        if error is HTTPParserError {
            context.close(promise: nil)
        } else {
            context.fireErrorCaught(error)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
