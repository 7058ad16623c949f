import Foundation
import GRDB

extension SQLStore {
    /// What a bulk seed made: the numbers of the members and their session tokens, for load tests.
    public struct SeededLoad: Sendable {
        public let phones: [String]
        public let tokens: [String]
    }

    /// Adds `members` members to the organisation, each signed in on 1–5 devices, with prepared
    /// statements in large transactions: the bulk path for benchmarks, far faster than the API.
    /// Members' numbers are `+<prefix><index>`; `progress` is called with the count done so far.
    public func bulkSeed(
        organizationID: String,
        members: Int,
        phonePrefix: String = "9170",
        at date: Date = Date(),
        progress: @Sendable (Int) -> Void = { _ in }
    ) throws -> SeededLoad {
        guard let pool = (backend as? SQLiteBackend)?.pool else { throw TeamGateError.unprocessable("The bulk seed writes to SQLite only.") }
        var phones: [String] = []
        var tokens: [String] = []
        phones.reserveCapacity(members)
        tokens.reserveCapacity(members * 3)
        let created = date.millisecondsSince1970
        let expires = date.addingTimeInterval(30 * 24 * 3600).millisecondsSince1970
        let width = max(7, String(members).count)
        let chunk = 20_000
        var generator = SystemRandomNumberGenerator()
        var done = 0
        while done < members {
            let upper = min(members, done + chunk)
            try pool.writeWithoutTransaction { db in
                try db.inTransaction {
                    let memberStatement = try db.makeStatement(
                        sql: "INSERT INTO members (id, organization_id, name, phone, email, role_id, created_at) VALUES (?, ?, ?, ?, NULL, 3, ?)")
                    let sessionStatement = try db.makeStatement(
                        sql: """
                            INSERT INTO sessions (id, member_id, organization_id, token_hash, device_name, created_at, expires_at)
                            VALUES (?, ?, ?, ?, 'bench device', ?, ?)
                            """)
                    for index in done..<upper {
                        let number = String(index)
                        let digits = phonePrefix + String(repeating: "0", count: width - number.count) + number
                        let memberID = "mem_bench\(index)"
                        try memberStatement.execute(arguments: [memberID, organizationID, "Agent \(index)", digits, created])
                        phones.append("+" + digits)
                        for device in 0..<Int.random(in: 1...5, using: &generator) {
                            let token = SecretToken.make(prefix: "tgs_")
                            tokens.append(token)
                            try sessionStatement.execute(arguments: [
                                "ses_bench\(index)_\(device)", memberID, organizationID, SecretToken.hash(token), created, expires,
                            ])
                        }
                    }
                    return .commit
                }
            }
            done = upper
            progress(done)
        }
        try reloadSessionIndex(at: date, entries: pool.read { db in try Self.liveSessions(SQLiteConnection(db: db), at: date) })
        return SeededLoad(phones: phones, tokens: tokens)
    }
}
