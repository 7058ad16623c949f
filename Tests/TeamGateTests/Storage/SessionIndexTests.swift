import Foundation
import Testing

@testable import TeamGate

/// The compact index on its own: what goes in comes out whole, members are shared, and what the loader
/// read cannot undo an end or a change made while it loaded.
@Suite("Session index")
struct SessionIndexTests {
    static let now = Date(timeIntervalSince1970: 1_790_000_000)

    static func member(_ id: String = SecretToken.identifier(prefix: "mem_"), role: Role = .teamMemberAllChats) -> TeamMember {
        TeamMember(
            id: id, organizationID: "org_acme", name: "Meera Iyer", phone: PhoneNumber(trustedDigits: "919311111111"), role: role,
            createdAt: now.addingTimeInterval(-86_400))
    }

    static func live(_ member: TeamMember, sessionID: String = SecretToken.identifier(prefix: "ses_"), hours: Double = 1) -> LiveSession {
        LiveSession(sessionID: sessionID, expiresAt: now.addingTimeInterval(hours * 3600), member: member, organizationName: "Acme Support")
    }

    static func tokenHash() -> Data { SecretToken.hash(SecretToken.make(prefix: "tgs_")) }

    @Test("a session put in comes out whole until it is removed or expires")
    func roundTrip() {
        let index = SessionIndex()
        let (hash, other) = (Self.tokenHash(), Self.tokenHash())
        let session = Self.live(Self.member())
        index.insert(tokenHash: hash, session)
        #expect(index.lookup(tokenHash: hash, at: Self.now) == session)
        #expect(index.lookup(tokenHash: other, at: Self.now) == nil)
        #expect(index.lookup(tokenHash: hash, at: session.expiresAt) == nil)
        index.remove(tokenHashes: [hash])
        #expect(index.lookup(tokenHash: hash, at: Self.now) == nil)
    }

    @Test("an expiry is kept to the whole second before it: the index never answers for a session past its end")
    func expiryRoundsDown() {
        let index = SessionIndex()
        let hash = Self.tokenHash()
        let member = Self.member()
        index.insert(tokenHash: hash, LiveSession(sessionID: "ses_x", expiresAt: Self.now.addingTimeInterval(10.7), member: member, organizationName: "Acme"))
        #expect(index.lookup(tokenHash: hash, at: Self.now)?.expiresAt == Self.now.addingTimeInterval(10))
        // Forgotten 0.7 s early: for that moment the disk answers instead.
        #expect(index.lookup(tokenHash: hash, at: Self.now.addingTimeInterval(10)) == nil)
    }

    @Test("every field of a member survives the encoding, the optional ones and long or non-ASCII text included")
    func memberFields() {
        let index = SessionIndex()
        let full = TeamMember(
            id: "mem_imported-from-a-much-older-system-with-long-ids", organizationID: "org_acme", name: String(repeating: "Ånand Ç ", count: 40),
            phone: PhoneNumber(trustedDigits: "14155550100"), email: "anand@example.com", role: .owner, createdAt: Self.now,
            removedAt: Self.now.addingTimeInterval(7.5), reportingManagerID: "mem_boss", lockedUntil: Self.now.addingTimeInterval(0.001))
        let hash = Self.tokenHash()
        index.insert(tokenHash: hash, Self.live(full))
        #expect(index.lookup(tokenHash: hash, at: Self.now)?.member == full)
    }

    @Test("session ids not of the usual form are kept as they are", arguments: ["ses_bench1_0", "legacy-7", "ses_AAAAAAAAAAAAAAA*", ""])
    func unusualSessionIDs(id: String) {
        let index = SessionIndex()
        let (hash, usual) = (Self.tokenHash(), Self.tokenHash())
        index.insert(tokenHash: hash, Self.live(Self.member(), sessionID: id))
        index.insert(tokenHash: usual, Self.live(Self.member()))
        #expect(index.lookup(tokenHash: hash, at: Self.now)?.sessionID == id)
        index.remove(tokenHashes: [hash])
        #expect(index.lookup(tokenHash: hash, at: Self.now) == nil)
        #expect(index.lookup(tokenHash: usual, at: Self.now) != nil)
    }

    @Test("identifiers of the usual form are 12 bytes and read back exactly; others are refused")
    func compactIdentifiers() {
        for _ in 0..<1000 {
            let id = SecretToken.identifier(prefix: "ses_")
            #expect(CompactIdentifier(id, prefix: "ses_")?.text(prefix: "ses_") == id)
        }
        #expect(MemoryLayout<CompactIdentifier>.size == 12)
        for refused in ["mem_AAAAAAAAAAAAAAAA", "ses_AAAAAAAAAAAAAAA", "ses_AAAAAAAAAAAAAAAAA", "ses_AAAAAAAAAAAAAAA=", "ses_AAAAAAAAAAAAAAAé"] {
            #expect(CompactIdentifier(refused, prefix: "ses_") == nil, "\(refused)")
        }
    }

    @Test("a member's details are kept once: a role change reaches each of their sessions, and no one else's")
    func sharedMembers() {
        let index = SessionIndex()
        let (meera, rohan) = (Self.member(), Self.member())
        let hashes = [Self.tokenHash(), Self.tokenHash(), Self.tokenHash()]
        index.insert(tokenHash: hashes[0], Self.live(meera))
        index.insert(tokenHash: hashes[1], Self.live(meera))
        index.insert(tokenHash: hashes[2], Self.live(rohan))
        var promoted = meera
        promoted.role = .teamLead
        index.updateMember(promoted)
        #expect(index.lookup(tokenHash: hashes[0], at: Self.now)?.member == promoted)
        #expect(index.lookup(tokenHash: hashes[1], at: Self.now)?.member == promoted)
        #expect(index.lookup(tokenHash: hashes[2], at: Self.now)?.member == rohan)
        #expect(index.footprint.members == 2)
    }

    @Test("many changes of one member are compacted away, and the member still reads back right")
    func compaction() {
        let index = SessionIndex()
        var member = Self.member()
        let hash = Self.tokenHash()
        index.insert(tokenHash: hash, Self.live(member))
        for round in 0..<40_000 {
            member.role = round.isMultiple(of: 2) ? .teamLead : .teamMemberAssignedChats
            member.name = "Meera Iyer \(round)"
            index.updateMember(member)
        }
        #expect(index.lookup(tokenHash: hash, at: Self.now)?.member == member)
        // 40,000 records of ~70 bytes were written; compaction keeps the arena near one record's size.
        #expect(index.footprint.bytes < 1 << 21, "\(index.footprint.bytes)")
    }

    @Test("while it loads, what the loader read cannot bring back an ended session nor an older role; then it is warm")
    func loadingRaces() {
        let index = SessionIndex()
        let meera = Self.member()
        var promoted = meera
        promoted.role = .teamLead
        let (ended, kept, stranger) = (Self.tokenHash(), Self.tokenHash(), Self.tokenHash())
        index.beginLoading()
        #expect(!index.isWarm)
        // Committed after the loader's read: the end and the promotion.
        index.remove(tokenHashes: [ended])
        index.updateMember(promoted)
        // The loader's older read: Meera as she was, both her sessions live, and a session of a member it
        // did not read (removed meanwhile).
        index.load(members: [(meera, "Acme Support")])
        for (offset, hash) in [ended, kept, stranger].enumerated() {
            var (sessionID, memberID) = (SecretToken.identifier(prefix: "ses_"), offset == 2 ? "mem_gone" : meera.id)
            hash.withUnsafeBytes { hash in
                sessionID.withUTF8 { sessionID in
                    memberID.withUTF8 { memberID in
                        index.load(
                            tokenHash: hash, sessionID: UnsafeRawBufferPointer(sessionID), memberID: UnsafeRawBufferPointer(memberID),
                            expiresAt: Self.now.addingTimeInterval(3600).millisecondsSince1970)
                    }
                }
            }
        }
        index.finishLoading()
        #expect(index.isWarm)
        #expect(index.lookup(tokenHash: ended, at: Self.now) == nil)
        #expect(index.lookup(tokenHash: kept, at: Self.now)?.member == promoted)
        #expect(index.lookup(tokenHash: stranger, at: Self.now) == nil)
        // After loading, an end is an end and nothing more is remembered.
        index.remove(tokenHashes: [kept])
        #expect(index.lookup(tokenHash: kept, at: Self.now) == nil)
    }

    @Test("a session is 36 bytes of table and its member is kept once: under 100 bytes a session in all")
    func compactness() {
        let index = SessionIndex()
        let members = (0..<22_500).map { _ in Self.member() }
        for number in 0..<90_000 {
            index.insert(tokenHash: Self.tokenHash(), Self.live(members[number % members.count]))
        }
        let footprint = index.footprint
        #expect(footprint.sessions == 90_000 && footprint.members == 22_500)
        #expect(MemoryLayout<SessionTable.Slot>.stride == 36)
        #expect(footprint.bytes < 90_000 * 100, "\(footprint.bytes)")
    }
}

@Suite("Session index expiry")
struct SessionIndexExpiryTests {
    @Test("expired sessions are forgotten by the sweep and by a lookup: an earlier date does not bring them back")
    func expiredForgotten() {
        let index = SessionIndex()
        let member = SessionIndexTests.member()
        let hashes = (0..<3).map { _ in SessionIndexTests.tokenHash() }
        for (hours, hash) in zip([1.0, 2, 3], hashes) { index.insert(tokenHash: hash, SessionIndexTests.live(member, hours: hours)) }
        let later = SessionIndexTests.now.addingTimeInterval(1.5 * 3600)
        #expect(index.forgetExpired(at: later) == 1)
        #expect(index.footprint.sessions == 2)
        #expect(index.lookup(tokenHash: hashes[0], at: SessionIndexTests.now) == nil)
        // A lookup past its end forgets the second, as the sweep would.
        #expect(index.lookup(tokenHash: hashes[1], at: later.addingTimeInterval(3600)) == nil)
        #expect(index.lookup(tokenHash: hashes[1], at: SessionIndexTests.now) == nil)
        #expect(index.lookup(tokenHash: hashes[2], at: SessionIndexTests.now) != nil)
    }
}
