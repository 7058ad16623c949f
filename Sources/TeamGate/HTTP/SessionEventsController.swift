import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket

/// `GET /me/events`: a device's WebSocket, on which it hears at once that its session ended.
///
/// On connect: `{"type":"session.active",…}`. When the session ends for any reason:
/// `{"type":"session.ended","reason":…,"revocationId":…}`, then the socket closes with code 4001 — after
/// the device's `{"type":"ack","revocationId":…}` or two seconds. A socket for an ended session is
/// refused at upgrade with 401.
struct SessionEventsController: Sendable {
    let signIn: SignIn
    let sessionEvents: SessionEventHub
    let clock: WallClock

    static let closeCode = WebSocketErrorCode.unknown(4001)
    /// The socket was replaced by newer ones of the same session (`SessionEventHub.socketsPerSession`).
    static let replacedCloseCode = WebSocketErrorCode.unknown(4002)

    /// The subscription ended without an event: newer sockets of the session took its place.
    struct SocketReplaced: Error {}
    /// The subscription ended without an event: the server is shutting down (`SessionSockets`).
    struct ServerGoingAway: Error {}
    static let ackWindow: Duration = .seconds(2)

    /// The subprotocol the server answers with; the token travels in a second one, `teamgate.token.<token>`.
    static let subprotocol = "teamgate.v1"
    static let tokenSubprotocolPrefix = "teamgate.token."

    static func offeredSubprotocols(_ headers: HTTPFields) -> [Substring] {
        headers[values: .secWebSocketProtocol].flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces)[...] } }
    }

    /// The session token a browser sent as a subprotocol (a header: unlike `?token=`, never in an access log).
    static func tokenInSubprotocols(_ headers: HTTPFields) -> String? {
        guard let offered = offeredSubprotocols(headers).first(where: { $0.hasPrefix(tokenSubprotocolPrefix) }) else { return nil }
        let token = offered.dropFirst(tokenSubprotocolPrefix.count)
        return token.isEmpty ? nil : String(token)
    }

    /// `router` is the group whose `MemberSessionMiddleware` (for the WebSocket) checked the session before the
    /// upgrade, so an ended one gets an HTTP 401 with its reason.
    func addRoutes(to router: RouterGroup<TeamGateRequestContext>, routes: RouteTable) {
        routes.register(.get, "/me/events")
        router.ws("/me/events") { request, context in
            guard context.memberSession != nil else { throw TeamGateError.sessionUnknown }
            // A browser fails a socket whose answer names no subprotocol of those it offered.
            let offered = Self.offeredSubprotocols(request.headers)
            return .upgrade(offered.contains(Substring(Self.subprotocol)) ? [.secWebSocketProtocol: Self.subprotocol] : [:])
        } onUpgrade: { inbound, outbound, context in
            // The library has read its handler from the slot by now; emptying it lets this context go with the socket.
            context.requestContext.webSocketSlot.release()
            guard let authenticated = context.requestContext.memberSession else { throw TeamGateError.sessionUnknown }
            let live: LiveSession
            do {
                live = try await signIn.currentSession(token: authenticated.token)
            } catch is TeamGateError {
                // Ended between the upgrade's check and now.
                try await outbound.close(Self.closeCode, reason: "session ended")
                return
            }
            try await serve(live: live, token: authenticated.token, inbound: inbound, outbound: outbound, logger: context.logger)
        }
    }

    private func serve(live: LiveSession, token: String, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, logger: Logger) async throws {
        let hub = sessionEvents
        let subscription = hub.subscribe(sessionID: live.sessionID)
        defer { hub.unsubscribe(sessionID: live.sessionID, id: subscription.id) }
        // The inbound stream can be read once: one reader passes the device's acks on, and ends when the device leaves.
        let (acks, ackContinuation) = AsyncStream<String>.makeStream()
        let (left, leftContinuation) = AsyncStream<Void>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer {
                    ackContinuation.finish()
                    leftContinuation.finish()
                }
                for try await message in inbound.messages(maxSize: 4096) {
                    guard case .text(let text) = message, let revocationID = Self.acknowledgedRevocation(in: text) else { continue }
                    ackContinuation.yield(revocationID)
                }
            }
            group.addTask {
                do {
                    try await notify(
                        live: live, token: token, subscription: subscription.events, acks: acks, left: left, outbound: outbound, logger: logger)
                } catch is SocketReplaced {
                    try await outbound.writeTextMessage(#"{"type":"socket.replaced","reason":"too_many_sockets"}"#)
                    try await outbound.close(Self.replacedCloseCode, reason: "too many sockets for this session")
                } catch is ServerGoingAway {
                    try await outbound.writeTextMessage(#"{"type":"server.going_away"}"#)
                    try await outbound.close(.goingAway, reason: "server shutting down; reconnect")
                }
            }
            // When the conversation is over, whichever side ended it, the reader stops too.
            try await group.next()
            group.cancelAll()
        }
    }

    private func notify(
        live: LiveSession, token: String, subscription: AsyncStream<SessionEndedEvent>, acks: AsyncStream<String>, left: AsyncStream<Void>,
        outbound: WebSocketOutboundWriter, logger: Logger
    ) async throws {
        try await outbound.writeTextMessage(
            #"{"type":"session.active","sessionId":\#(JSONText.string(live.sessionID)),"expiresAt":"\#(live.expiresAt.iso8601Seconds)","memberId":\#(JSONText.string(live.member.id))}"#
        )
        let ended: SessionEndedEvent? = try await withThrowingTaskGroup(of: SessionEndedEvent?.self) { group in
            group.addTask {
                // A revocation that committed between the upgrade's check and the subscription is not missed.
                if let reason = try await Self.endReason(signIn, token) {
                    return SessionEndedEvent(sessionID: live.sessionID, reason: reason, revocationID: nil)
                }
                for await event in subscription { return event }
                if Task.isCancelled { return nil }
                if sessionEvents.isClosed { throw ServerGoingAway() }
                throw SocketReplaced()
            }
            group.addTask {
                let wait = max(0, live.expiresAt.timeIntervalSince(clock.now()))
                try await Sleep.for(.milliseconds(Int64(wait * 1000)))
                return SessionEndedEvent(sessionID: live.sessionID, reason: .expired, revocationID: nil)
            }
            group.addTask {
                for await _ in left {}
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        guard let ended else { return }
        try await outbound.writeTextMessage(
            #"{"type":"session.ended","sessionId":\#(JSONText.string(ended.sessionID)),"reason":"\#(ended.reason.rawValue)","revocationId":\#(ended.revocationID.map(JSONText.string) ?? "null"),"endedAt":"\#(clock.now().iso8601Seconds)","message":\#(JSONText.string(ended.reason.explanation))}"#
        )
        do {
            try await signIn.recordDeviceNotified(sessionID: live.sessionID)
        } catch {
            // The device was told all the same; only the revocation's report misses the time.
            logger.warning("Recording that a device was told failed", metadata: ["error": "\(String(reflecting: error))"])
        }
        if let revocationID = ended.revocationID {
            await awaitAck(revocationID: revocationID, sessionID: live.sessionID, acks: acks, logger: logger)
        }
        try await outbound.close(Self.closeCode, reason: ended.reason.rawValue)
    }

    /// Gives the device a moment to confirm, and records it when it does.
    private func awaitAck(revocationID: String, sessionID: String, acks: AsyncStream<String>, logger: Logger) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await ack in acks where ack == revocationID {
                    do {
                        try await signIn.recordDeviceAcknowledged(sessionID: sessionID, revocationID: revocationID)
                    } catch {
                        logger.warning("Recording a device's acknowledgement failed", metadata: ["error": "\(String(reflecting: error))"])
                    }
                    return
                }
            }
            group.addTask { await Sleep.unlessCancelled(Self.ackWindow) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Why the token's session is no longer live; nil while it is.
    private static func endReason(_ signIn: SignIn, _ token: String) async throws -> SessionEndReason? {
        do {
            _ = try await signIn.currentSession(token: token)
            return nil
        } catch TeamGateError.sessionEnded(let reason) {
            return reason
        } catch TeamGateError.sessionUnknown {
            return .sessionRevoked
        }
    }

    /// The revocation a device's `{"type":"ack","revocationId":…}` confirms; nil for any other message,
    /// which a device may send and is ignored.
    static func acknowledgedRevocation(in text: String) -> String? {
        struct Ack: Decodable {
            let type: String
            let revocationId: String
        }
        guard let ack = try? JSONDecoder().decode(Ack.self, from: Data(text.utf8)), ack.type == "ack" else { return nil }
        return ack.revocationId
    }
}
