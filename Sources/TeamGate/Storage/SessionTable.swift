/// The index's map from token key to entry: open addressing with linear probing over one array of
/// 36-byte slots, kept between 70 % and 85 % full.
///
/// Swift's `Dictionary` keeps keys and values in separate arrays of a power-of-two size, between 37.5 %
/// and 75 % full: at three million sessions that is 151 MB, this 127 MB, and a probe reads one slot, not
/// two arrays. A slot whose key is all zero bytes is empty: a real token's hash starting with 16 zero bytes
/// (a chance of 2⁻¹²⁸) is simply not indexed, and its session is read from disk each time.
struct SessionTable {
    struct Slot {
        var key: SessionIndex.TokenKey
        var entry: SessionIndex.Entry
    }

    private var slots: [Slot] = []
    private(set) var count = 0

    static let maximumLoad = 0.85
    static let loadAfterGrowing = 0.70

    var bytes: Int { slots.capacity * MemoryLayout<Slot>.stride }

    /// Room for `count` entries without growing, at the highest load.
    mutating func reserve(_ wanted: Int) {
        let capacity = Int((Double(wanted) / Self.maximumLoad).rounded(.up)) + 1
        if capacity > slots.count { rebuild(capacity: capacity) }
    }

    subscript(key: SessionIndex.TokenKey) -> SessionIndex.Entry? {
        guard let position = find(key) else { return nil }
        return slots[position].entry
    }

    /// Adds the entry, or replaces the one the key has.
    mutating func insert(_ entry: SessionIndex.Entry, for key: SessionIndex.TokenKey) {
        guard !key.isEmptyMarker else { return }
        if let position = find(key) {
            slots[position].entry = entry
            return
        }
        if Double(count + 1) > Double(slots.count) * Self.maximumLoad {
            rebuild(capacity: max(1024, Int(Double(count + 1) / Self.loadAfterGrowing)))
        }
        place(Slot(key: key, entry: entry))
        count += 1
    }

    @discardableResult
    mutating func remove(_ key: SessionIndex.TokenKey) -> SessionIndex.Entry? {
        guard var hole = find(key) else { return nil }
        let removed = slots[hole].entry
        // Backward-shift deletion: later slots of the same run move up into the hole when their home is
        // not between the hole and themselves, so no tombstone is ever left.
        var next = advance(hole)
        while !slots[next].key.isEmptyMarker {
            let home = self.home(slots[next].key)
            let movable = hole <= next ? (home <= hole || home > next) : (home <= hole && home > next)
            if movable {
                slots[hole] = slots[next]
                hole = next
            }
            next = advance(next)
        }
        slots[hole].key = .emptyMarker
        count -= 1
        return removed
    }

    /// Slots, empty or not: the range `keys(inSlots:where:)` walks.
    var slotCount: Int { slots.count }

    /// The keys in `range` of the slots whose entries satisfy `condition`: a sweep walks the table a range at
    /// a time, so no lock is held across all of it. A rebuild between ranges may make a sweep miss a key; the
    /// next sweep finds it.
    func keys(inSlots range: Range<Int>, where condition: (SessionIndex.Entry) -> Bool) -> [SessionIndex.TokenKey] {
        slots[range.clamped(to: 0..<slots.count)].filter { !$0.key.isEmptyMarker && condition($0.entry) }.map(\.key)
    }

    private func find(_ key: SessionIndex.TokenKey) -> Int? {
        guard !slots.isEmpty, !key.isEmptyMarker else { return nil }
        var position = home(key)
        while true {
            let held = slots[position].key
            if held == key { return position }
            if held.isEmptyMarker { return nil }
            position = advance(position)
        }
    }

    private mutating func place(_ slot: Slot) {
        var position = home(slot.key)
        while !slots[position].key.isEmptyMarker { position = advance(position) }
        slots[position] = slot
    }

    /// The key's first choice: its random first word mapped onto the slots (multiply-shift, any size).
    private func home(_ key: SessionIndex.TokenKey) -> Int {
        Int(truncatingIfNeeded: key.hashWord.multipliedFullWidth(by: UInt64(slots.count)).high)
    }

    private func advance(_ position: Int) -> Int {
        position + 1 == slots.count ? 0 : position + 1
    }

    private mutating func rebuild(capacity: Int) {
        let old = slots
        slots = Array(repeating: Slot(key: .emptyMarker, entry: .init(sessionID: .empty, memberSlot: 0, expiresAt: 0)), count: capacity)
        for slot in old where !slot.key.isEmptyMarker { place(slot) }
    }
}
