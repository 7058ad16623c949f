import ServiceLifecycle

/// The devices' sockets in the service group. On graceful shutdown, before the server stops, every
/// socket is told `{"type":"server.going_away"}` and closed with 1001 (going away), so a device
/// reconnects (to another instance, or to this one once it is back) rather than taking the close for
/// the end of its session.
struct SessionSockets: Service, CustomStringConvertible {
    let hub: SessionEventHub

    var description: String { "SessionSockets" }

    func run() async throws {
        do {
            try await gracefulShutdown()
        } catch is CancellationError {
            // Cancelled: the sockets go with the server all the same.
        }
        hub.closeAll()
    }
}
