import NIOCore
import Synchronization

/// Open connections per address block (`AddressBlock`: an IPv6 client's /64), so that one client cannot hold
/// every descriptor the server has (a slowloris without nginx in front). Trusted proxies carry everyone's
/// connections and are not counted.
final class ConnectionsPerAddress: Sendable {
    let limit: Int
    let trustedProxies: [IPNetwork]
    private let open = Mutex<[AddressBlock: Int]>([:])

    init(limit: Int, trustedProxies: [IPNetwork]) {
        self.limit = limit
        self.trustedProxies = trustedProxies
    }

    /// Counts the connection from `address` until `channel` closes; false (counting nothing) when its block
    /// already holds `limit`.
    func admit(_ channel: any Channel) -> Bool {
        guard let text = channel.remoteAddress?.ipAddress else { return true }
        if let peer = IPAddress(literal: text), trustedProxies.contains(where: { $0.contains(peer) }) { return true }
        let block = AddressBlock(text)
        let admitted = open.withLock { open in
            guard open[block, default: 0] < limit else { return false }
            open[block, default: 0] += 1
            return true
        }
        guard admitted else { return false }
        channel.closeFuture.whenComplete { [self] _ in
            open.withLock { open in
                guard let count = open[block] else { return }
                open[block] = count > 1 ? count - 1 : nil
            }
        }
        return true
    }
}

/// Closes a connection whose first request's headers have not all arrived within `deadline` of its opening.
/// The idle timer starts again at every byte, so alone it lets a client trickle one header byte every few
/// seconds for ever. Sits first in the pipeline, on the raw bytes, and leaves once the blank line that ends
/// the headers has passed; later requests on the connection are under the idle timer.
final class HeaderDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let deadline: TimeAmount
    private var timer: Scheduled<Void>?
    /// The last bytes seen, for a CRLF CRLF split across reads.
    private var tail: [UInt8] = []

    init(deadline: TimeAmount) {
        self.deadline = deadline
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: deadline) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let bytes = tail + buffer.readableBytesView
        let ended = bytes.count >= 4 && (0...(bytes.count - 4)).contains { bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10 }
        tail = Array(bytes.suffix(3))
        context.fireChannelRead(data)
        if ended { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
    }
}
