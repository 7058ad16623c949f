import Foundation
import Synchronization

/// What the session check needs to answer `GET /me` without the disk.
public struct LiveSession: Sendable, Equatable {
    public let sessionID: String
    public let expiresAt: Date
    public let member: TeamMember
    public let organizationName: String
}

/// The in-memory index of live sessions, keyed by token hash.
///
/// Filled from the store at start-up; afterwards changed only by the store's writer, right after the
/// commit that made the change and before the next commit starts, so it follows the database's own
/// order and is never stale on this instance.
final class SessionIndex: Sendable {
    private let sessions = Mutex<[Data: LiveSession]>([:])

    func lookup(tokenHash: Data, at date: Date) -> LiveSession? {
        guard let live = sessions.withLock({ $0[tokenHash] }), live.expiresAt > date else { return nil }
        return live
    }

    func insert(tokenHash: Data, _ live: LiveSession) {
        sessions.withLock { $0[tokenHash] = live }
    }

    func remove(tokenHashes: some Sequence<Data>) {
        sessions.withLock { index in
            for hash in tokenHashes { index.removeValue(forKey: hash) }
        }
    }

    /// Replaces the member's details in every live session of theirs (after a role change).
    func updateMember(_ member: TeamMember) {
        sessions.withLock { index in
            for (hash, live) in index where live.member.id == member.id {
                index[hash] = LiveSession(sessionID: live.sessionID, expiresAt: live.expiresAt, member: member, organizationName: live.organizationName)
            }
        }
    }

    func replaceAll(with entries: [Data: LiveSession]) {
        sessions.withLock { $0 = entries }
    }

    var count: Int { sessions.withLock { $0.count } }
}
