import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// What an admin handler gets: the authenticated key, the parsed body, and who is asking from where.
struct AdminCall: Sendable {
    let key: APIKey
    let body: JSONObjectBody?
    let origin: RequestOrigin
    let request: Request
    let secret: String
}

/// The door of every API-key route: the key first (401, as NestJS guards do), then the body (413, 415,
/// 400), then the Idempotency-Key: a retry within 24 h gets the first answer again, unchanged, without
/// the work being done twice; the same key with another request is refused.
struct AdminGate: Sendable {
    let logout: Logout
    let store: any IdempotencyStore
    let clock: WallClock
    let bodyLimit: Int
    let limiter: RateLimiter
    private let inFlight = InFlightKeys()

    static let idempotencyHeader = HTTPField.Name("Idempotency-Key")!
    static let replayWindow = Retention.idempotencyReplay

    init(logout: Logout, store: any IdempotencyStore, clock: WallClock, bodyLimit: Int, limiter: RateLimiter) {
        self.logout = logout
        self.limiter = limiter
        self.store = store
        self.clock = clock
        self.bodyLimit = bodyLimit
    }

    func handle(
        _ request: Request,
        _ context: TeamGateRequestContext,
        readsBody: Bool,
        _ work: (AdminCall) async throws -> Reply
    ) async throws -> Response {
        guard let secret = Credentials.apiKey(in: request.headers) else { throw TeamGateError.invalidAPIKey }
        try limiter.take(secret: secret)
        let key = try await logout.authenticate(apiKey: secret, clientAddress: context.clientIP)
        let raw = readsBody ? try await JSONObjectBody.readBytes(request, limit: bodyLimit) : Data()
        let origin = RequestOrigin(actor: key.actorLabel, requestID: context.id, clientIP: context.clientIP)

        guard request.method != .get, let idempotencyKey = request.headers[Self.idempotencyHeader] else {
            let body = readsBody ? try JSONObjectBody.parse(raw) : nil
            return try await work(AdminCall(key: key, body: body, origin: origin, request: request, secret: secret)).response
        }
        guard (1...255).contains(idempotencyKey.utf8.count), idempotencyKey.unicodeScalars.allSatisfy({ (33...126).contains($0.value) }) else {
            throw APIError.badRequest(["Idempotency-Key must be 1–255 visible ASCII characters"])
        }
        var fingerprint = Data("\(request.method.rawValue) \(request.uri.path)?\(request.uri.query ?? "")\n".utf8)
        fingerprint.append(raw)
        let requestHash = Data(SHA256.hash(data: fingerprint))
        let now = clock.now()
        if let record = try await store.idempotencyRecord(organizationID: key.organizationID, key: idempotencyKey, notBefore: now.addingTimeInterval(-Self.replayWindow)) {
            guard record.requestHash == requestHash else { throw TeamGateError.idempotencyKeyReused }
            return Reply(
                status: HTTPResponse.Status(code: record.status), body: ByteBuffer(bytes: record.body), headers: [HTTPField.Name("Idempotent-Replayed")!: "true"]
            ).response
        }
        let slot = key.organizationID + "\n" + idempotencyKey
        guard inFlight.claim(slot) else { throw TeamGateError.idempotencyKeyInFlight }
        defer { inFlight.release(slot) }

        let reply: Reply
        do {
            let body = readsBody ? try JSONObjectBody.parse(raw) : nil
            reply = try await work(AdminCall(key: key, body: body, origin: origin, request: request, secret: secret))
        } catch let error as APIError {
            reply = Reply(error)
        } catch let error as TeamGateError {
            reply = Reply(APIError(error))
        }
        // Server errors and rate limits are not answers to keep: a retry should really be retried.
        if reply.status.code < 500, reply.status != .tooManyRequests {
            try await store.saveIdempotencyRecord(
                IdempotencyRecord(requestHash: requestHash, status: reply.status.code, body: Data(reply.body.readableBytesView), createdAt: now),
                organizationID: key.organizationID, key: idempotencyKey)
        }
        return reply.response
    }
}

/// Idempotency keys whose first request is still running in this process.
final class InFlightKeys: Sendable {
    private let keys = Mutex<Set<String>>([])

    func claim(_ key: String) -> Bool { keys.withLock { $0.insert(key).inserted } }
    func release(_ key: String) { _ = keys.withLock { $0.remove(key) } }
}
