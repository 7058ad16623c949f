import Foundation
import Synchronization

/// A session that just ended, as its connected devices hear about it.
public struct SessionEndedEvent: Sendable, Equatable {
    public let sessionID: String
    public let reason: SessionEndReason
    public let revocationID: String?
}

/// Who is listening for which session's end: each connected device's socket subscribes to its own
/// session. `Transactions` publishes right after the commit that ended sessions, so a device hears it
/// within the same moment the admin's 201 is sent; sessions other instances ended arrive through the
/// store's observer (`TeamGateServices`).
///
/// One token may hold at most `socketsPerSession` sockets: a further one replaces the oldest, whose
/// stream then ends without an event, so a leaked token cannot pin unbounded sockets on the server.
public final class SessionEventHub: Sendable {
    private struct Listener {
        let order: UInt64
        let continuation: AsyncStream<SessionEndedEvent>.Continuation
    }

    static let socketsPerSession = 5

    private struct State {
        var listeners: [String: [UUID: Listener]] = [:]
        var subscribed: UInt64 = 0
        /// Set when the server is going away: every stream has ended, and new ones end at once.
        var closed = false
        /// Waiting in `closeAll` for the last socket to unsubscribe.
        var waitingForLastSocket: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Events for one session, until `unsubscribe`, or until newer sockets of the session replace this one.
    func subscribe(sessionID: String) -> (id: UUID, events: AsyncStream<SessionEndedEvent>) {
        let id = UUID()
        let (stream, continuation) = AsyncStream<SessionEndedEvent>.makeStream(bufferingPolicy: .bufferingNewest(4))
        let replaced = state.withLock { state -> [Listener] in
            guard !state.closed else { return [Listener(order: 0, continuation: continuation)] }
            state.subscribed += 1
            state.listeners[sessionID, default: [:]][id] = Listener(order: state.subscribed, continuation: continuation)
            guard let listeners = state.listeners[sessionID], listeners.count > Self.socketsPerSession else { return [] }
            let oldest = listeners.sorted { $0.value.order < $1.value.order }.prefix(listeners.count - Self.socketsPerSession)
            for (oldID, _) in oldest { state.listeners[sessionID]?.removeValue(forKey: oldID) }
            return oldest.map(\.value)
        }
        for listener in replaced { listener.continuation.finish() }
        return (id, stream)
    }

    /// Sockets subscribed now, over every session (for `/metrics`).
    var openSocketCount: Int { state.withLock { $0.listeners.values.reduce(0) { $0 + $1.count } } }

    /// Whether the server is going away (`closeAll`), which is why a subscription's stream ended.
    var isClosed: Bool { state.withLock { $0.closed } }

    /// Ends every subscription, and every later one at once: the server is going away. Returns once every
    /// socket has said so and unsubscribed, or when cancelled.
    func closeAll() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let listeners = state.withLock { state -> [Listener]? in
                    state.closed = true
                    guard !state.listeners.isEmpty, !Task.isCancelled else { return nil }
                    state.waitingForLastSocket.append(continuation)
                    return state.listeners.values.flatMap(\.values)
                }
                guard let listeners else { return continuation.resume() }
                for listener in listeners { listener.continuation.finish() }
            }
        } onCancel: {
            let waiting = state.withLock { state in
                defer { state.waitingForLastSocket = [] }
                return state.waitingForLastSocket
            }
            for waiter in waiting { waiter.resume() }
        }
    }

    func unsubscribe(sessionID: String, id: UUID) {
        let (listener, waiting) = state.withLock { state -> (Listener?, [CheckedContinuation<Void, Never>]) in
            let removed = state.listeners[sessionID]?.removeValue(forKey: id)
            if state.listeners[sessionID]?.isEmpty == true { state.listeners.removeValue(forKey: sessionID) }
            guard state.listeners.isEmpty else { return (removed, []) }
            defer { state.waitingForLastSocket = [] }
            return (removed, state.waitingForLastSocket)
        }
        listener?.continuation.finish()
        for waiter in waiting { waiter.resume() }
    }

    func publish(_ ended: [EndedSession]) {
        publish(ended.map { SessionEndedEvent(sessionID: $0.sessionID, reason: $0.reason, revocationID: $0.revocationID) })
    }

    func publish(_ events: [SessionEndedEvent]) {
        guard !events.isEmpty else { return }
        let targets = state.withLock { state in
            events.flatMap { event in (state.listeners[event.sessionID]?.values).map { $0.map { ($0.continuation, event) } } ?? [] }
        }
        for (continuation, event) in targets { continuation.yield(event) }
    }
}
