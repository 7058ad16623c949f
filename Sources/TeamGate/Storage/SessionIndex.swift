import Foundation
import Synchronization

/// The in-memory index of live sessions, keyed by token hash.
///
/// Filled from the store in the background at start-up (`SQLStore+IndexLoading`); changed right after
/// each commit of this instance's writer, before the next commit starts (`SQLStore.apply`), and by
/// `PeerIndexSync` with what other instances committed, so it follows the database's own order and is
/// never stale on this instance. Until it is warm, a token it does not hold is looked up on disk.
///
/// Compact, because it holds every live session: an entry is 16 bytes of key and 20 of value, with no
/// pointer, in an open-addressing table (`SessionTable`), and a member's details are kept once, encoded
/// in one shared byte arena (`MemberTable`), however many devices the member uses. A session costs about
/// 64 bytes in all (the bench prints it: 181 MB for three million sessions of a million members).
final class SessionIndex: Sendable {
    /// The first 16 bytes of a token's SHA-256: as unique as the whole for a lookup key, and inline. Four
    /// 4-byte words, so a table slot of key and entry packs into 36 bytes.
    struct TokenKey: Hashable, Sendable {
        private var words: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)

        init(_ hash: Data) {
            self = hash.withUnsafeBytes { TokenKey(bytes: $0) }
        }

        init(bytes hash: UnsafeRawBufferPointer) {
            withUnsafeMutableBytes(of: &words) { target in
                target.copyMemory(from: UnsafeRawBufferPointer(rebasing: hash.prefix(16)))
            }
        }

        private init() {}

        /// All zero: an empty slot of `SessionTable`.
        static let emptyMarker = TokenKey()
        var isEmptyMarker: Bool { words == (0, 0, 0, 0) }

        /// The hash's first eight bytes: already uniformly random, as good a hash as all sixteen.
        var hashWord: UInt64 { UInt64(words.0) | UInt64(words.1) << 32 }

        static func == (left: TokenKey, right: TokenKey) -> Bool { left.words == right.words }

        func hash(into hasher: inout Hasher) { hasher.combine(hashWord) }
    }

    /// One live session, fixed size and without a pointer.
    struct Entry: Sendable {
        var sessionID: CompactIdentifier
        /// The member's slot in the member table; `unusualIDFlag` set when the session's id is not in
        /// `CompactIdentifier`'s form and is kept in `unusualSessionIDs` instead.
        var memberSlot: UInt32
        /// Seconds since 1970, rounded down: the index never holds a session past its end (it forgets it
        /// up to a second early; the disk then answers for that second). Four bytes where a `Date` takes eight.
        var expiresAt: UInt32

        static let unusualIDFlag: UInt32 = 1 << 31
    }

    /// What changes while the index is being loaded, so the loader's older reads do not undo them.
    fileprivate struct Loading {
        /// Sessions ended since loading began: the loader may have read them live.
        var ended: Set<TokenKey> = []
        /// Members changed since loading began, newest details: the loader may have read older ones.
        var changedMembers: [String: TeamMember] = [:]
    }

    fileprivate struct State {
        var sessions = SessionTable()
        var unusualSessionIDs: [TokenKey: String] = [:]
        var members = MemberTable()
        /// Set from `beginLoading()` to `finishLoading()`.
        var loading: Loading?
        var warm = true
    }

    private let state = Mutex(State())

    /// Whether the index holds every live session (false while it loads at start-up).
    var isWarm: Bool { state.withLock { $0.warm } }

    func lookup(tokenHash: Data, at date: Date) -> LiveSession? {
        let key = TokenKey(tokenHash)
        return state.withLock { state -> LiveSession? in
            guard let entry = state.sessions[key] else { return nil }
            let expiresAt = Date(timeIntervalSince1970: TimeInterval(entry.expiresAt))
            guard expiresAt > date else {
                // Expired: forgotten, so nothing can bring it back (the disk says it expired).
                state.sessions.remove(key)
                state.unusualSessionIDs.removeValue(forKey: key)
                return nil
            }
            let sessionID =
                entry.memberSlot & Entry.unusualIDFlag == 0 ? entry.sessionID.text(prefix: "ses_") : state.unusualSessionIDs[key] ?? ""
            let (member, organizationName) = state.members.member(atSlot: entry.memberSlot & ~Entry.unusualIDFlag)
            return LiveSession(sessionID: sessionID, expiresAt: expiresAt, member: member, organizationName: organizationName)
        }
    }

    func insert(tokenHash: Data, _ live: LiveSession) {
        let key = TokenKey(tokenHash)
        state.withLock { state in
            let slot = state.members.slot(for: live.member, organizationName: live.organizationName, replacingOlder: true)
            state.insert(key, sessionID: live.sessionID, memberSlot: slot, expiresAt: Self.indexTime(live.expiresAt))
        }
    }

    func remove(tokenHashes: some Sequence<Data>) {
        let keys = tokenHashes.map(TokenKey.init)
        state.withLock { state in
            for key in keys {
                state.sessions.remove(key)
                state.unusualSessionIDs.removeValue(forKey: key)
                state.loading?.ended.insert(key)
            }
        }
    }

    /// Forgets every session expired at `date`, a range of slots at a time (a lookup forgets the ones it
    /// meets): the index holds live sessions only, and its memory follows them. Returns how many it forgot.
    @discardableResult
    func forgetExpired(at date: Date) -> Int {
        let now = Self.indexTime(date)
        let stride = 65_536
        var forgotten = 0
        var start = 0
        while start < state.withLock({ $0.sessions.slotCount }) {
            forgotten += state.withLock { state in
                let expired = state.sessions.keys(inSlots: start..<start + stride) { $0.expiresAt <= now }
                for key in expired {
                    state.sessions.remove(key)
                    state.unusualSessionIDs.removeValue(forKey: key)
                }
                return expired.count
            }
            start += stride
        }
        return forgotten
    }

    /// Replaces the member's details, which all their live sessions share (after a role change).
    func updateMember(_ member: TeamMember) {
        state.withLock { state in
            state.members.replace(member)
            state.loading?.changedMembers[member.id] = member
        }
    }

    /// Whole seconds since 1970, rounded down.
    static func indexTime(_ date: Date) -> UInt32 {
        UInt32(clamping: Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    /// Whole seconds since 1970, rounded down, of a stored time in milliseconds.
    static func indexTime(milliseconds: Int64) -> UInt32 {
        UInt32(clamping: milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000)
    }

    // MARK: Loading

    /// From now until `finishLoading()`, ends and member changes are remembered, so what the loader read
    /// before them cannot bring an ended session back or an old role. Call before the loader's first read.
    func beginLoading() {
        state.withLock { state in
            state.loading = Loading()
            state.warm = false
        }
    }

    /// Makes room for `sessions` entries at once, as full as the table gets: growing step by step would
    /// leave it emptier, and copy it each time.
    func reserve(sessions: Int) {
        state.withLock { $0.sessions.reserve(sessions) }
    }

    /// Adds members the loader read, unless the index already holds them (then it holds newer details).
    func load(members: [(member: TeamMember, organizationName: String)]) {
        state.withLock { state in
            for (member, organizationName) in members {
                let newest = state.loading?.changedMembers[member.id] ?? member
                _ = state.members.slot(for: newest, organizationName: organizationName, replacingOlder: false)
            }
        }
    }

    /// Adds a session the loader read live, unless it ended since loading began or the loader did not read
    /// its member (removed, or signed in since: the writer indexed those itself). The cells are read in
    /// place: a few million of them make no string or value at all.
    func load(tokenHash: UnsafeRawBufferPointer, sessionID: UnsafeRawBufferPointer, memberID: UnsafeRawBufferPointer, expiresAt milliseconds: Int64) {
        let key = TokenKey(bytes: tokenHash)
        let expiresAt = Self.indexTime(milliseconds: milliseconds)
        state.withLock { state in
            guard state.sessions[key] == nil, state.loading?.ended.contains(key) != true,
                let slot = state.members.existingSlot(memberID: memberID)
            else { return }
            if let compact = CompactIdentifier(utf8: sessionID, prefix: "ses_") {
                state.sessions.insert(Entry(sessionID: compact, memberSlot: slot, expiresAt: expiresAt), for: key)
            } else {
                state.insertUnusual(key, sessionID: String(decoding: sessionID, as: UTF8.self), memberSlot: slot, expiresAt: expiresAt)
            }
        }
    }

    /// The index holds every live session from now on.
    func finishLoading() {
        state.withLock { state in
            state.loading = nil
            state.warm = true
            state.members.shrinkToFit()
        }
    }

    /// Live sessions and members held, and the bytes their tables take (capacity, not just use).
    var footprint: (sessions: Int, members: Int, bytes: Int) {
        state.withLock { state in
            (state.sessions.count, state.members.count, state.sessions.bytes + state.members.bytes)
        }
    }

    /// Drops every session and member (a bulk seed reloads afterwards).
    func removeAll() {
        state.withLock { $0 = State() }
    }
}

extension SessionIndex.State {
    fileprivate mutating func insert(_ key: SessionIndex.TokenKey, sessionID: String, memberSlot: UInt32, expiresAt: UInt32) {
        if let compact = CompactIdentifier(sessionID, prefix: "ses_") {
            sessions.insert(SessionIndex.Entry(sessionID: compact, memberSlot: memberSlot, expiresAt: expiresAt), for: key)
        } else {
            insertUnusual(key, sessionID: sessionID, memberSlot: memberSlot, expiresAt: expiresAt)
        }
    }

    /// A session whose id is not of `CompactIdentifier`'s form: the id is kept as text beside the table.
    fileprivate mutating func insertUnusual(_ key: SessionIndex.TokenKey, sessionID: String, memberSlot: UInt32, expiresAt: UInt32) {
        sessions.insert(
            SessionIndex.Entry(sessionID: CompactIdentifier.empty, memberSlot: memberSlot | SessionIndex.Entry.unusualIDFlag, expiresAt: expiresAt),
            for: key)
        unusualSessionIDs[key] = sessionID
    }
}
