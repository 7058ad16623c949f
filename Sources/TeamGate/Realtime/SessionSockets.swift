import ServiceLifecycle

/// The devices' sockets in the service group. On graceful shutdown, before the server stops, every
/// socket is told `{"type":"server.going_away"}` and closed with 1001 (going away), so a device
/// reconnects (to another instance, or to this one once it is back) rather than taking the close for
/// the end of its session.
struct SessionSockets: Service, CustomStringConvertible {
    let hub: SessionEventHub
    /// How long the sockets get to say goodbye before the server stops anyway.
    static let goodbyeWindow: Duration = .seconds(5)

    var description: String { "SessionSockets" }

    func run() async throws {
        do {
            try await gracefulShutdown()
        } catch is CancellationError {
            // Cancelled: the sockets go with the server all the same.
        }
        // The server's own shutdown closes any socket still open with a plain 1000, so it waits until
        // every device has been told (or the window is over).
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await hub.closeAll() }
            group.addTask {
                do {
                    try await Sleep.for(Self.goodbyeWindow)
                } catch {
                    // Cancelled because every socket closed first.
                }
            }
            await group.next()
            group.cancelAll()
        }
    }
}
