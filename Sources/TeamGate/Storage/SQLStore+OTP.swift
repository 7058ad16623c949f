import Foundation
import GRDB

extension SQLStore: OTPStore {
    public func insertOTPChallenge(_ challenge: OTPChallenge) async throws {
        try await writer.write { db in
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
    }

    public func pruneOTPChallenges(expiredBefore date: Date, limit: Int) async throws -> Int {
        try await writer.write { db in
            try db.rows(
                "DELETE FROM otp_challenges WHERE id IN (SELECT id FROM otp_challenges WHERE expires_at < ? LIMIT ?) RETURNING id",
                [date.millisecondsSince1970, limit]
            ).count
        }
    }

    public func verifyOTP(phone: PhoneNumber, codeHash: Data, at date: Date, maxAttempts: Int, consume: Bool) async throws -> OTPVerification {
        try await writer.write { db in
            // Only the newest code counts: asking for a new one retires the old.
            guard
                let row = try db.row(
                    "SELECT * FROM otp_challenges WHERE phone = ? ORDER BY created_at DESC, sequence DESC LIMIT 1",
                    [phone.digits]
                )
            else { return .rejected }
            let id: String = row["id"]
            let attempts: Int = row["attempts"]
            let expiresAt: Int64 = row["expires_at"]
            let consumedAt: Int64? = row["consumed_at"]
            guard consumedAt == nil, expiresAt > date.millisecondsSince1970, attempts < maxAttempts else { return .rejected }
            let stored: Data = row["code_hash"]
            guard stored == codeHash else {
                try db.execute("UPDATE otp_challenges SET attempts = attempts + 1 WHERE id = ?", [id])
                return .rejected
            }
            if consume {
                try db.execute("UPDATE otp_challenges SET consumed_at = ? WHERE id = ?", [date.millisecondsSince1970, id])
            }
            return .accepted
        }
    }
}
