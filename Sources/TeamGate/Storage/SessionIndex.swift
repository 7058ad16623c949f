import Foundation
import Synchronization

/// The in-memory index of live sessions, keyed by token hash.
///
/// Filled from the store at start-up; afterwards changed right after each commit of this instance's
/// writer, before the next commit starts (`SQLStore.perform`), and by `PeerIndexSync` with what other
/// instances committed, so it follows the database's own order and is never stale on this instance.
final class SessionIndex: Sendable {
    /// A SHA-256 kept inline in four words: no heap allocation per entry, unlike `Data`.
    struct TokenKey: Hashable, Sendable {
        let a: UInt64, b: UInt64, c: UInt64, d: UInt64

        init(_ hash: Data) {
            var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
            withUnsafeMutableBytes(of: &words) { target in
                hash.prefix(32).withUnsafeBytes { source in target.copyMemory(from: source) }
            }
            (a, b, c, d) = words
        }

        // The words are already uniformly random: one of them is as good a hash as all four.
        func hash(into hasher: inout Hasher) { hasher.combine(a) }
    }

    private let sessions = Mutex<[TokenKey: LiveSession]>([:])
    func lookup(tokenHash: Data, at date: Date) -> LiveSession? {
        let key = TokenKey(tokenHash)
        guard let live = sessions.withLock({ $0[key] }), live.expiresAt > date else { return nil }
        return live
    }

    func insert(tokenHash: Data, _ live: LiveSession) {
        sessions.withLock { $0[TokenKey(tokenHash)] = live }
    }

    func remove(tokenHashes: some Sequence<Data>) {
        let keys = tokenHashes.map(TokenKey.init)
        sessions.withLock { index in
            for key in keys { index.removeValue(forKey: key) }
        }
    }

    /// Replaces the member's details in every live session of theirs (after a role change).
    func updateMember(_ member: TeamMember) {
        sessions.withLock { index in
            for (hash, live) in index where live.member.id == member.id {
                index[hash] = LiveSession(
                    sessionID: live.sessionID, expiresAt: live.expiresAt, member: member, organizationName: live.organizationName)
            }
        }
    }

    func replaceAll(with entries: [TokenKey: LiveSession]) {
        sessions.withLock { $0 = entries }
    }
}
