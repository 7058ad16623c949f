import ServiceLifecycle

/// How long background work may go on once SIGTERM arrives. Docker waits 10 s before SIGKILL: the server's
/// own requests, the sockets' farewell and the database's last commit must fit in what is left.
enum ShutdownGrace {
    static let backgroundWork: Duration = .seconds(2)

    /// Runs `work` to its end; once graceful shutdown begins, it has `grace` more, then it is cancelled. A
    /// hanging SMS gateway or webhook receiver thus never holds the process past its supervisor's patience.
    static func run(within grace: Duration = backgroundWork, _ work: @escaping @Sendable () async -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await work() }
            group.addTask {
                do {
                    try await gracefulShutdown()
                    try await Sleep.for(grace)
                } catch {
                    return  // cancelled: the work ended first
                }
            }
            await group.next()
            group.cancelAll()
        }
    }
}
