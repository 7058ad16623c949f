import Foundation
import GRDB

extension SQLStore: BulkSeedStore {
    /// Adds `members` members to the organisation, each signed in on 1–5 devices, with multi-row inserts
    /// in large transactions: the bulk path for benchmarks, far faster than the API, on either database.
    /// Members' numbers are `+<prefix><index>`; `progress` is called with the count done so far.
    public func bulkSeed(
        organizationID: String,
        members: Int,
        phonePrefix: String = "9170",
        at date: Date,
        progress: @Sendable (Int) -> Void
    ) async throws -> SeededLoad {
        var phones: [String] = []
        var tokens: [String] = []
        var firstTokens: [String] = []
        phones.reserveCapacity(members)
        firstTokens.reserveCapacity(members)
        tokens.reserveCapacity(members * 3)
        let created = date.millisecondsSince1970
        let expires = date.addingTimeInterval(30 * 24 * 3600).millisecondsSince1970
        let width = max(7, String(members).count)
        let perTransaction = 20_000
        if let sqlite = backend as? SQLiteBackend {
            // Ids and token hashes are random, so every insert lands somewhere else in four indexes: with
            // SQLite's default 2 MB page cache, a million members take many minutes; with 256 MB, about two.
            try await sqlite.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA cache_size = -262144") }
        }
        var done = 0
        while done < members {
            let upper = min(members, done + perTransaction)
            // DatabaseValue, unlike `any DatabaseValueConvertible`, may cross into the writer's closure.
            var memberRows: [DatabaseValue] = []
            var sessionRows: [DatabaseValue] = []
            for index in done..<upper {
                let number = String(index)
                let digits = phonePrefix + String(repeating: "0", count: width - number.count) + number
                let memberID = SecretToken.identifier(prefix: "mem_")
                memberRows += [
                    memberID.databaseValue, organizationID.databaseValue, "Agent \(index)".databaseValue, digits.databaseValue, created.databaseValue,
                ]
                phones.append("+" + digits)
                for device in 0..<Int.random(in: 1...5) {
                    let token = SecretToken.make(prefix: "tgs_")
                    tokens.append(token)
                    if device == 0 { firstTokens.append(token) }
                    sessionRows += [
                        SecretToken.identifier(prefix: "ses_").databaseValue, memberID.databaseValue, organizationID.databaseValue,
                        SecretToken.hash(token).databaseValue, created.databaseValue, expires.databaseValue,
                    ]
                }
            }
            let (finalMembers, finalSessions) = (memberRows, sessionRows)
            try await backend.transaction { db in
                try Self.insertRows(
                    db, "INSERT INTO members (id, organization_id, name, phone, email, role_id, created_at) VALUES ", "(?, ?, ?, ?, NULL, 3, ?)",
                    columns: 5, values: finalMembers)
                try Self.insertRows(
                    db, "INSERT INTO sessions (id, member_id, organization_id, token_hash, device_name, created_at, expires_at) VALUES ",
                    "(?, ?, ?, ?, 'bench device', ?, ?)", columns: 6, values: finalSessions)
            }
            done = upper
            progress(done)
        }
        await waitUntilIndexIsWarm()
        // The loader skips what the index holds: start again from empty, so every seeded session is read.
        index.removeAll()
        index.beginLoading()
        try await loadIndex()
        return SeededLoad(phones: phones, tokens: tokens, firstTokens: firstTokens)
    }

    private static func insertRows(
        _ db: any SQLConnection, _ prefix: String, _ row: String, columns: Int, values: [DatabaseValue]
    ) throws {
        var start = 0
        while start < values.count {
            let end = min(values.count, start + MultiRow.rowsPerStatement * columns)
            let rows = (end - start) / columns
            try db.execute(prefix + MultiRow.values(row, count: rows), values[start..<end].map { $0 })
            start = end
        }
    }
}
