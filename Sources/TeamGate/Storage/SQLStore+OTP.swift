import Foundation
import GRDB

extension SQLStore: OTPStore {
    public func pruneOTPChallenges(expiredBefore date: Date, limit: Int) async throws -> Int {
        try await deleteBatch(from: "otp_challenges", where: "expires_at < ?", before: date, limit: limit)
    }
}

extension SQLUnitOfWork {
    func insertCode(_ challenge: OTPChallenge) throws {
        try db.execute(
            """
            INSERT INTO otp_challenges (id, phone, code_hash, created_at, expires_at, attempts, consumed_at, sequence)
            VALUES (?, ?, ?, ?, ?, 0, NULL, (SELECT COALESCE(MAX(sequence), 0) + 1 FROM otp_challenges WHERE phone = ?))
            """,
            [
                challenge.id, challenge.phone.digits, challenge.codeHash, challenge.createdAt.millisecondsSince1970,
                challenge.expiresAt.millisecondsSince1970, challenge.phone.digits,
            ]
        )
    }

    func newestCode(phone: PhoneNumber) throws -> OTPChallenge? {
        // The newest by the number's own sequence, never by the clock: a code made after a step back of the
        // clock is still the newest.
        try db.row("SELECT * FROM otp_challenges WHERE phone = ? ORDER BY sequence DESC LIMIT 1", [phone.digits]).map { row in
            OTPChallenge(
                id: row["id"], phone: phone, codeHash: row["code_hash"], createdAt: Date(millisecondsSince1970: row["created_at"]),
                expiresAt: Date(millisecondsSince1970: row["expires_at"]), attempts: row["attempts"],
                consumedAt: Date(millisecondsSince1970: row["consumed_at"] as Int64?))
        }
    }

    func recordWrongCode(id: String) throws {
        try db.execute("UPDATE otp_challenges SET attempts = attempts + 1 WHERE id = ?", [id])
    }

    func consumeCode(id: String, at date: Date) throws {
        try db.execute("UPDATE otp_challenges SET consumed_at = ? WHERE id = ?", [date.millisecondsSince1970, id])
    }
}
