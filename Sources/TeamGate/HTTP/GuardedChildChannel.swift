import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Puts the limits of a plain HTTP connection on a connection that may become a WebSocket.
///
/// hummingbird-websocket's upgrade channel parses the first request before Hummingbird's own HTTP
/// handlers exist, so a client that never finishes its headers is never timed out there, and a request
/// past the header limits leaves the connection hanging. This adds an idle timer at the front of the
/// pipeline and a handler after the HTTP decoder that closes the connection on a decoding error or when
/// the timer fires. Upgraded sockets stay alive through the WebSocket pings.
struct GuardedChildChannel<Inner: ServerChildChannel>: ServerChildChannel {
    let inner: Inner
    let idleTimeout: TimeAmount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Inner.Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idleTimeout), position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            try channel.pipeline.syncOperations.addHandler(CloseOnErrorOrIdle())
            return value
        }
    }

    func handle(value: Inner.Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
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
