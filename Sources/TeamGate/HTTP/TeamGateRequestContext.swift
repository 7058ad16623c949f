import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's core storage plus the client's address.
public struct TeamGateRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// The client's IP, as the audit records it.
    var clientIP: String? { remoteAddress?.ipAddress }
}
