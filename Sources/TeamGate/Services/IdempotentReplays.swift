import Foundation

/// `Idempotency-Key` answers kept for 24 hours (`Retention.idempotencyReplay`): the first answer to a request,
/// replayed to its retries; the same key with another request refused.
public struct IdempotentReplays: Sendable {
    let store: any TeamGateStore
    let clock: WallClock

    /// The kept answer to this key, if it was kept within the replay window and for the same request;
    /// throws `idempotencyKeyReused` when it was for another.
    func keptAnswer(organizationID: String, key: String, requestHash: Data) async throws -> IdempotencyRecord? {
        let notBefore = clock.now().addingTimeInterval(-Retention.idempotencyReplay)
        guard let record = try await store.idempotencyRecord(organizationID: organizationID, key: key, notBefore: notBefore) else { return nil }
        guard record.requestHash == requestHash else { throw TeamGateError.idempotencyKeyReused }
        return record
    }

    /// Keeps the first answer to a request.
    func keep(status: Int, body: Data, requestHash: Data, organizationID: String, key: String) async throws {
        try await store.saveIdempotencyRecord(
            IdempotencyRecord(requestHash: requestHash, status: status, body: body, createdAt: clock.now()), organizationID: organizationID, key: key)
    }
}
