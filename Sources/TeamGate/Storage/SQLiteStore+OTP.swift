import Foundation
import GRDB

extension SQLiteStore: OTPStore {
    public func insertOTPChallenge(_ challenge: OTPChallenge) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO otp_challenges (id, phone, code_hash, created_at, expires_at, attempts, consumed_at)
                    VALUES (?, ?, ?, ?, ?, 0, NULL)
                    """,
                arguments: [
                    challenge.id, challenge.phone.digits, challenge.codeHash, challenge.createdAt.millisecondsSince1970,
                    challenge.expiresAt.millisecondsSince1970,
                ]
            )
        }
    }

    public func otpSendTimes(phone: PhoneNumber, since date: Date) async throws -> [Date] {
        try await pool.read { db in
            try Int64.fetchAll(
                db,
                sql: "SELECT created_at FROM otp_challenges WHERE phone = ? AND created_at > ? ORDER BY created_at",
                arguments: [phone.digits, date.millisecondsSince1970]
            ).map(Date.init(millisecondsSince1970:))
        }
    }

    public func verifyOTP(phone: PhoneNumber, codeHash: Data, at date: Date, maxAttempts: Int, consume: Bool) async throws -> OTPVerification {
        try await writer.write { db in
            // Only the newest code counts: asking for a new one retires the old.
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT * FROM otp_challenges WHERE phone = ? ORDER BY created_at DESC, rowid DESC LIMIT 1",
                    arguments: [phone.digits]
                )
            else { return .rejected }
            let id: String = row["id"]
            let attempts: Int = row["attempts"]
            let expiresAt: Int64 = row["expires_at"]
            let consumedAt: Int64? = row["consumed_at"]
            guard consumedAt == nil, expiresAt > date.millisecondsSince1970, attempts < maxAttempts else { return .rejected }
            let stored: Data = row["code_hash"]
            guard stored == codeHash else {
                try db.execute(sql: "UPDATE otp_challenges SET attempts = attempts + 1 WHERE id = ?", arguments: [id])
                return .rejected
            }
            if consume {
                try db.execute(sql: "UPDATE otp_challenges SET consumed_at = ? WHERE id = ?", arguments: [date.millisecondsSince1970, id])
            }
            return .accepted
        }
    }
}
