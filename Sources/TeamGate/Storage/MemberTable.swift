import Foundation

/// The details of the members who have live sessions, each kept once and addressed by a slot number
/// that their sessions' index entries hold.
///
/// A `TeamMember` is a dozen words and two or three heap strings; here a member is one record of about
/// 50 bytes in a single shared byte array, so a million members cost tens of megabytes, not hundreds.
/// A changed member gets a new record in the same slot; the old record is garbage until the next
/// compaction. Organisations are few and kept as values.
struct MemberTable {
    private var arena: [UInt8] = []
    /// Slot → where the slot's newest record starts in `arena` (four bytes: the arena stays under 4 GiB).
    private var offsets: [UInt32] = []
    /// Open addressing from a member id's hash to its slot, `empty` where unused; a probe compares the
    /// ids in the arena, so collisions need nothing more. Four bytes a place, at most half full.
    private var slotsByID: [UInt32] = []
    private static let empty = UInt32.max
    private var organizations: [(id: String, name: String)] = []
    private var organizationSlots: [String: UInt32] = [:]
    /// Bytes of `arena` held by superseded records.
    private var garbage = 0

    var count: Int { offsets.count }

    var bytes: Int {
        arena.capacity + offsets.capacity * MemoryLayout<UInt32>.stride + slotsByID.capacity * MemoryLayout<UInt32>.stride
    }

    /// The slot holding `member`, added when absent. `replacingOlder`: when present, store these details
    /// (a commit's newer read) rather than keep the held ones.
    mutating func slot(for member: TeamMember, organizationName: String, replacingOlder: Bool) -> UInt32 {
        if let slot = existingSlot(memberID: member.id) {
            if replacingOlder, self.member(atSlot: slot).member != member {
                replace(member, atSlot: slot, organizationName: organizationName)
            }
            return slot
        }
        let slot = UInt32(offsets.count)
        precondition(slot < SessionIndex.Entry.unusualIDFlag && arena.count < UInt32.max, "more members than the index can hold")
        offsets.append(UInt32(arena.count))
        append(member, organizationName: organizationName)
        if (offsets.count + 1) * 2 > slotsByID.count {
            rebuildSlotsByID(capacity: max(1024, slotsByID.count * 2))
        } else {
            var id = member.id
            id.withUTF8 { place(slot, hash: Self.hash(UnsafeRawBufferPointer($0))) }
        }
        return slot
    }

    func existingSlot(memberID: String) -> UInt32? {
        var memberID = memberID
        return memberID.withUTF8 { existingSlot(memberID: UnsafeRawBufferPointer($0)) }
    }

    /// The slot of the member whose id has these UTF-8 bytes.
    func existingSlot(memberID: UnsafeRawBufferPointer) -> UInt32? {
        guard !slotsByID.isEmpty else { return nil }
        let mask = slotsByID.count - 1
        var place = Int(truncatingIfNeeded: Self.hash(memberID)) & mask
        while true {
            let slot = slotsByID[place]
            if slot == Self.empty { return nil }
            if recordHasID(atSlot: slot, memberID) { return slot }
            place = (place + 1) & mask
        }
    }

    private mutating func place(_ slot: UInt32, hash: UInt64) {
        let mask = slotsByID.count - 1
        var place = Int(truncatingIfNeeded: hash) & mask
        while slotsByID[place] != Self.empty { place = (place + 1) & mask }
        slotsByID[place] = slot
    }

    private mutating func rebuildSlotsByID(capacity: Int) {
        slotsByID = Array(repeating: Self.empty, count: capacity)
        for slot in offsets.indices {
            let hash = arena.withUnsafeBufferPointer { bytes in
                var reader = MemberRecord.Reader(bytes: bytes, position: Int(offsets[slot]))
                var id = reader.id(flags: reader.skipToID())
                return id.withUTF8 { Self.hash(UnsafeRawBufferPointer($0)) }
            }
            place(UInt32(slot), hash: hash)
        }
    }

    /// Stores the member's new details, if the table holds the member.
    mutating func replace(_ member: TeamMember) {
        guard let slot = existingSlot(memberID: member.id) else { return }
        replace(member, atSlot: slot, organizationName: self.member(atSlot: slot).organizationName)
    }

    private mutating func replace(_ member: TeamMember, atSlot slot: UInt32, organizationName: String) {
        let old = Int(offsets[Int(slot)])
        garbage += Self.recordLength(arena, at: old)
        offsets[Int(slot)] = UInt32(arena.count)
        append(member, organizationName: organizationName)
        precondition(arena.count <= UInt32.max, "member details past 4 GiB")
        if garbage > 1 << 20, garbage > arena.count / 2 { compact() }
    }

    func member(atSlot slot: UInt32) -> (member: TeamMember, organizationName: String) {
        arena.withUnsafeBufferPointer { bytes in
            var reader = MemberRecord.Reader(bytes: bytes, position: Int(offsets[Int(slot)]))
            let organization = organizations[Int(reader.word())]
            let role = Role(rawValue: Int(reader.byte())) ?? .teamMemberAssignedChats
            let flags = reader.byte()
            let createdAt = reader.time()
            let lockedUntil = flags & MemberRecord.Flag.lockedUntil != 0 ? reader.time() : nil
            let removedAt = flags & MemberRecord.Flag.removedAt != 0 ? reader.time() : nil
            let id = reader.id(flags: flags)
            let name = reader.string()
            let phone = reader.string()
            let email = flags & MemberRecord.Flag.email != 0 ? reader.string() : nil
            let reportingManagerID = flags & MemberRecord.Flag.reportingManager != 0 ? reader.string() : nil
            let member = TeamMember(
                id: id, organizationID: organization.id, name: name, phone: PhoneNumber(trustedDigits: phone), email: email, role: role,
                createdAt: createdAt, removedAt: removedAt, reportingManagerID: reportingManagerID, lockedUntil: lockedUntil)
            return (member, organization.name)
        }
    }

    // MARK: Records

    /// A record: organisation slot (4 bytes), role (1), flags (1), created (8), [locked until (8)],
    /// [removed (8)], the id (its 12 bytes when it has the usual form, else as text), then name, phone
    /// digits, [email], [reporting manager] as length-prefixed UTF-8.
    private mutating func append(_ member: TeamMember, organizationName: String) {
        let organization = organizationSlot(id: member.organizationID, name: organizationName)
        var flags: UInt8 = 0
        if member.email != nil { flags |= MemberRecord.Flag.email }
        if member.reportingManagerID != nil { flags |= MemberRecord.Flag.reportingManager }
        if member.lockedUntil != nil { flags |= MemberRecord.Flag.lockedUntil }
        if member.removedAt != nil { flags |= MemberRecord.Flag.removedAt }
        let compactID = CompactIdentifier(member.id, prefix: MemberRecord.idPrefix)
        if compactID != nil { flags |= MemberRecord.Flag.compactID }
        withUnsafeBytes(of: organization.littleEndian) { arena.append(contentsOf: $0) }
        arena.append(UInt8(truncatingIfNeeded: member.role.rawValue))
        arena.append(flags)
        appendTime(member.createdAt)
        if let lockedUntil = member.lockedUntil { appendTime(lockedUntil) }
        if let removedAt = member.removedAt { appendTime(removedAt) }
        if let compactID { compactID.append(to: &arena) } else { appendString(member.id) }
        appendString(member.name)
        appendString(member.phone.digits)
        if let email = member.email { appendString(email) }
        if let reportingManagerID = member.reportingManagerID { appendString(reportingManagerID) }
    }

    private mutating func appendTime(_ date: Date) {
        withUnsafeBytes(of: date.timeIntervalSinceReferenceDate.bitPattern.littleEndian) { arena.append(contentsOf: $0) }
    }

    /// A LEB128 length, then the bytes.
    private mutating func appendString(_ text: String) {
        var length = text.utf8.count
        while length >= 0x80 {
            arena.append(UInt8(length & 0x7F) | 0x80)
            length >>= 7
        }
        arena.append(UInt8(length))
        arena.append(contentsOf: text.utf8)
    }

    private mutating func organizationSlot(id: String, name: String) -> UInt32 {
        if let slot = organizationSlots[id] {
            if organizations[Int(slot)].name != name { organizations[Int(slot)].name = name }
            return slot
        }
        let slot = UInt32(organizations.count)
        organizations.append((id, name))
        organizationSlots[id] = slot
        return slot
    }

    /// Whether the slot's record is the member's, compared in place: no string is made.
    private func recordHasID(atSlot slot: UInt32, _ id: UnsafeRawBufferPointer) -> Bool {
        arena.withUnsafeBufferPointer { bytes in
            var reader = MemberRecord.Reader(bytes: bytes, position: Int(offsets[Int(slot)]))
            let flags = reader.skipToID()
            guard flags & MemberRecord.Flag.compactID != 0 else { return reader.stringBytes().elementsEqual(id) }
            return CompactIdentifier(utf8: id, prefix: MemberRecord.idPrefix) == CompactIdentifier(reading: reader.bytes(12))
        }
    }

    private static func recordLength(_ arena: [UInt8], at offset: Int) -> Int {
        arena.withUnsafeBufferPointer { bytes in
            var reader = MemberRecord.Reader(bytes: bytes, position: offset)
            let flags = reader.skipToID()
            if flags & MemberRecord.Flag.compactID != 0 { _ = reader.bytes(12) } else { _ = reader.stringBytes() }
            for _ in 0..<(2 + (flags & MemberRecord.Flag.email != 0 ? 1 : 0) + (flags & MemberRecord.Flag.reportingManager != 0 ? 1 : 0)) { _ = reader.stringBytes() }
            return reader.position - offset
        }
    }

    /// Gives back the room the arena grew into beyond what it holds (up to half of it, after a load).
    mutating func shrinkToFit() {
        guard arena.capacity > arena.count + arena.count / 8 else { return }
        arena = Array(unsafeUninitializedCapacity: arena.count) { buffer, count in
            count = buffer.initialize(fromContentsOf: arena)
        }
    }

    /// Rewrites the arena with each slot's newest record only.
    private mutating func compact() {
        var table = MemberTable()
        table.organizations = organizations
        table.organizationSlots = organizationSlots
        table.arena.reserveCapacity(arena.count - garbage)
        for offset in offsets.map(Int.init) {
            table.offsets.append(UInt32(table.arena.count))
            table.arena.append(contentsOf: arena[offset..<(offset + Self.recordLength(arena, at: offset))])
        }
        table.slotsByID = slotsByID
        self = table
    }

    /// FNV-1a over the id's bytes: stable and cheap.
    private static func hash(_ id: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return hash
    }
}
