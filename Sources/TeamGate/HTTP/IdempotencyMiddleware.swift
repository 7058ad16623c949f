import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// `Idempotency-Key` on the API-key routes that change something: a retry within 24 h gets the first
/// answer again, unchanged, without the work being done twice; the same key with another request is
/// refused (422), and one still running is answered 409.
struct IdempotencyMiddleware: RouterMiddleware {
    typealias Context = AdminRequestContext
    let replays: IdempotentReplays
    let bodyLimit: Int
    private let inFlight = InFlightKeys()

    static let header = HTTPField.Name("Idempotency-Key")!
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!

    init(replays: IdempotentReplays, bodyLimit: Int) {
        self.replays = replays
        self.bodyLimit = bodyLimit
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method != .get, let idempotencyKey = request.headers[Self.header] else { return try await next(request, context) }
        guard (1...255).contains(idempotencyKey.utf8.count), idempotencyKey.unicodeScalars.allSatisfy({ (33...126).contains($0.value) }) else {
            throw APIError.badRequest(["Idempotency-Key must be 1–255 visible ASCII characters"])
        }
        var request = request
        let raw = try await JSONObjectBody.collectBytes(&request, limit: bodyLimit)
        var fingerprint = Data("\(request.method.rawValue) \(request.uri.path)?\(request.uri.query ?? "")\n".utf8)
        fingerprint.append(raw)
        let requestHash = Data(SHA256.hash(data: fingerprint))
        let organizationID = context.organizationID
        if let record = try await replays.keptAnswer(organizationID: organizationID, key: idempotencyKey, requestHash: requestHash) {
            return Reply(status: HTTPResponse.Status(code: record.status), body: ByteBuffer(bytes: record.body), headers: [Self.replayedHeader: "true"])
                .response
        }
        let slot = organizationID + "\n" + idempotencyKey
        guard inFlight.claim(slot) else { throw TeamGateError.idempotencyKeyInFlight }
        defer { inFlight.release(slot) }

        let reply: Reply
        do {
            reply = try await Reply(collecting: next(request, context))
        } catch {
            // A refusal is an answer like any other; anything else is a server error, not kept (below).
            guard let answer = APIError(mapping: error) else { throw error }
            reply = Reply(answer)
        }
        // Server errors and rate limits are not answers to keep: a retry should really be retried.
        if reply.status.code < 500, reply.status != .tooManyRequests {
            try await replays.keep(
                status: reply.status.code, body: Data(reply.body.readableBytesView), requestHash: requestHash, organizationID: organizationID,
                key: idempotencyKey)
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
