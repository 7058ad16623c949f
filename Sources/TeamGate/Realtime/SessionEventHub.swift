import Foundation
import Synchronization

/// A session that just ended, as its connected devices hear about it.
public struct SessionEndedEvent: Sendable, Equatable {
    public let sessionID: String
    public let reason: SessionEndReason
    public let revocationID: String?
}

/// Who is listening for which session's end: each connected device's socket subscribes to its own
/// session. The store's writer publishes right after the commit that ended sessions, so a device hears
/// it within the same moment the admin's 201 is sent.
public final class SessionEventHub: Sendable {
    private let listeners = Mutex<[String: [UUID: AsyncStream<SessionEndedEvent>.Continuation]]>([:])

    public init() {}

    /// Events for one session, until `unsubscribe`.
    func subscribe(sessionID: String) -> (id: UUID, events: AsyncStream<SessionEndedEvent>) {
        let id = UUID()
        let (stream, continuation) = AsyncStream<SessionEndedEvent>.makeStream(bufferingPolicy: .bufferingNewest(4))
        listeners.withLock { $0[sessionID, default: [:]][id] = continuation }
        return (id, stream)
    }

    func unsubscribe(sessionID: String, id: UUID) {
        let continuation = listeners.withLock { listeners -> AsyncStream<SessionEndedEvent>.Continuation? in
            let removed = listeners[sessionID]?.removeValue(forKey: id)
            if listeners[sessionID]?.isEmpty == true { listeners.removeValue(forKey: sessionID) }
            return removed
        }
        continuation?.finish()
    }

    func publish(_ events: [SessionEndedEvent]) {
        guard !events.isEmpty else { return }
        let targets = listeners.withLock { listeners in
            events.flatMap { event in (listeners[event.sessionID]?.values).map { $0.map { ($0, event) } } ?? [] }
        }
        for (continuation, event) in targets { continuation.yield(event) }
    }

    /// How many sockets are listening (for tests and the bench).
    var listenerCount: Int { listeners.withLock { $0.values.reduce(0) { $0 + $1.count } } }
}
