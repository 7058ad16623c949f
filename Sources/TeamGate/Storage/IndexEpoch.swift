import Foundation
import GRDB

/// Numbers the changes other instances must apply to their session index: a session ended, a member's
/// details changed. The single counter row is updated inside the transaction that makes the change, so
/// its lock orders concurrent changes by commit: a reader that sees number n has seen every change up
/// to n, and can fetch the rest by number (`sessions.end_epoch`, `members.change_epoch`).
///
/// Where one process owns the database (SQLite) nobody reads the numbers: rows get none (NULL), and the
/// hot path saves the counter's update.
enum IndexEpoch {
    static func current(_ db: any SQLConnection) throws -> Int64 {
        guard db.hasPeers else { return 0 }
        guard let row = try db.row("SELECT value FROM index_epoch WHERE id = 1") else { return 0 }
        return row["value"]
    }

    /// Holds the counter's row until the commit without taking a number, where instances share the database.
    static func lock(_ db: any SQLConnection) throws {
        guard db.hasPeers, db.transactionEpoch == nil else { return }
        _ = try db.row("SELECT value FROM index_epoch WHERE id = 1 FOR UPDATE")
    }

    /// The number for the change this transaction is making: one per transaction (a group commit's
    /// writes share it), announced to the other instances at commit.
    static func advance(_ db: any SQLConnection) throws -> Int64? {
        guard db.hasPeers else { return nil }
        if let epoch = db.transactionEpoch { return epoch }
        guard let row = try db.row("UPDATE index_epoch SET value = value + 1 WHERE id = 1 RETURNING value") else { return nil }
        let epoch: Int64 = row["value"]
        db.recordIndexChange(epoch: epoch)
        return epoch
    }
}
