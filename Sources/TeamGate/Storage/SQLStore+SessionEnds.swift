import Foundation
import GRDB

/// Ending sessions, whatever selects them: one read of the live sessions the ends select (a list of `VALUES` naming
/// what ends, a member, a session, a token, an organisation, with each end's revocation and time), then one append of
/// their end records (`session_ends`), so a batch of logouts touches neither the rows of `sessions` nor its indexes.
extension SQLUnitOfWork {
    func endSessions(_ ends: [SessionsToEnd], reason: SessionEndReason) throws -> [[EndedSession]] {
        var results = [[EndedSession]](repeating: [], count: ends.count)
        guard !ends.isEmpty else { return results }
        let epoch = try IndexEpoch.advance(db)
        var ending: [(position: Int, found: PendingSessionEnds.End)] = []
        for (shape, positions) in Dictionary(grouping: ends.indices, by: { EndShape(ends[$0].selection) }) {
            for chunk in MultiRow.chunks(positions) {
                var arguments: SQLArguments = []
                for position in chunk {
                    let end = ends[position]
                    arguments += end.selection.matchArguments + [Int64(position), end.revocationID, end.at.millisecondsSince1970]
                }
                let rows = try db.rows(
                    """
                    WITH ending(\(shape.columns), position, revocation_id, ended_at) AS (VALUES \(MultiRow.placeholders(rows: chunk.count, columns: shape.arity + 3)))
                    SELECT ending.position, \(Self.foundColumns)
                    FROM ending JOIN sessions ON \(shape.match)
                    WHERE sessions.ended_at IS NULL AND sessions.expires_at > ending.ended_at AND \(unseenEnds.noEnd(of: "sessions"))
                    """,
                    arguments + [unseenEnds.bound])
                ending += rows.map { (Int($0["position"] as Int64), PendingSessionEnds.End(row: $0)) }
            }
        }
        for (position, found) in try append(ending, reason: reason, epoch: epoch) { results[position].append(found) }
        // A member's or an organisation's end already took their app sessions; one session's end takes its children.
        var parents: [(position: Int, parent: EndedSession)] = []
        for (position, end) in ends.enumerated() {
            switch end.selection {
            case .session, .token: parents += results[position].filter { $0.parentID == nil }.map { (position, $0) }
            case .member, .organization: break
            }
        }
        for (position, child) in try endChildren(of: parents, in: ends, reason: reason, epoch: epoch) { results[position].append(child) }
        return results
    }

    /// Ends the app sessions opened under the sessions just ended, with their parent's revocation and time.
    private func endChildren(of parents: [(position: Int, parent: EndedSession)], in ends: [SessionsToEnd], reason: SessionEndReason, epoch: Int64?)
        throws -> [(Int, EndedSession)]
    {
        var ending: [(position: Int, found: PendingSessionEnds.End)] = []
        for chunk in MultiRow.chunks(parents) {
            var arguments: SQLArguments = []
            for (position, parent) in chunk { arguments += [parent.sessionID, Int64(position), parent.revocationID, ends[position].at.millisecondsSince1970] }
            let rows = try db.rows(
                """
                WITH ending(parent, position, revocation_id, ended_at) AS (VALUES \(MultiRow.placeholders(rows: chunk.count, columns: 4)))
                SELECT ending.position, \(Self.foundColumns)
                FROM ending JOIN sessions ON sessions.parent_id = ending.parent
                WHERE sessions.ended_at IS NULL AND sessions.expires_at > ending.ended_at AND \(unseenEnds.noEnd(of: "sessions"))
                """,
                arguments + [unseenEnds.bound])
            ending += rows.map { (Int($0["position"] as Int64), PendingSessionEnds.End(row: $0)) }
        }
        return try append(ending, reason: reason, epoch: epoch)
    }

    /// Appends an end record for each session found live that no pending end has ended yet (the first of two ends
    /// selecting one session takes it), in one statement per chunk; answers them with the end that selected each.
    private func append(_ ending: [(position: Int, found: PendingSessionEnds.End)], reason: SessionEndReason, epoch: Int64?) throws -> [(Int, EndedSession)] {
        var taken = pendingEnds.ended(among: ending.map(\.found.sessionID)).union(endedHere)
        let fresh = ending.filter { taken.insert($0.found.sessionID).inserted }
        var appended: [(Int, EndedSession)] = []
        for chunk in MultiRow.chunks(fresh) {
            var arguments: SQLArguments = []
            for (_, found) in chunk {
                arguments += [
                    found.sessionID, found.tokenHash, found.memberID, found.organizationID, found.parentID, found.expiresAt, found.endedAt,
                    reason.rawValue, found.revocationID, epoch,
                ]
            }
            let seqs = try db.rows(
                """
                INSERT INTO session_ends (session_id, token_hash, member_id, organization_id, parent_id, expires_at, ended_at, reason, revocation_id, epoch)
                VALUES \(MultiRow.placeholders(rows: chunk.count, columns: 10)) RETURNING seq, session_id
                """,
                arguments)
            let seqOf = Dictionary(seqs.map { ($0["session_id"] as String, $0["seq"] as Int64) }, uniquingKeysWith: { first, _ in first })
            for (position, found) in chunk {
                // RETURNING answers every row inserted; a row missing would be a session no reader knew ended.
                guard let seq = seqOf[found.sessionID] else { throw EndRecordNotReturned(sessionID: found.sessionID) }
                let end = found.numbered(seq, reason: reason, epoch: epoch)
                endedHere.insert(found.sessionID)
                changes.pendingEnds.append(end)
                changes.ended.append(end.ended)
                appended.append((position, end.ended))
            }
        }
        return appended
    }

    /// A live session an end selected, read as the end record it is about to get (`PendingSessionEnds.End(row:)`),
    /// with that end's revocation and time; its number, reason and epoch come with the append.
    private static let foundColumns = """
        0 AS seq, sessions.id AS session_id, sessions.token_hash, sessions.member_id, sessions.organization_id, sessions.parent_id,
        sessions.expires_at, ending.ended_at, ending.revocation_id
        """

    /// The pending end of the session, if one ended it: this unit's, this instance's, or one this instance has not
    /// seen yet (its transaction's own, or another instance's not yet applied).
    func pendingEnd(ofSession id: String) throws -> PendingSessionEnds.End? {
        if endedHere.contains(id) { return changes.pendingEnds.first { $0.sessionID == id } }
        if let end = pendingEnds.end(ofSession: id) { return end }
        return try db.row(
            "SELECT \(PendingSessionEnds.columns) FROM session_ends e WHERE e.\(unseenEnds.column) > ? AND e.session_id = ?", [unseenEnds.bound, id]
        ).map(PendingSessionEnds.End.init(row:))
    }

    func members(ids: Set<String>) throws -> [TeamMember] {
        var members: [TeamMember] = []
        for chunk in MultiRow.chunks(Array(ids)) {
            members += try db.rows("SELECT * FROM members WHERE id IN (\(MultiRow.values("?", count: chunk.count)))", chunk.map { $0 })
                .map(TeamMember.init(row:))
        }
        return members
    }
}

/// The kinds of selection, each with the columns of its `VALUES` list and how they match a session.
private enum EndShape: Hashable {
    case member, session, token, organization, organizationSparing(Role)

    init(_ selection: SessionSelection) {
        switch selection {
        case .member: self = .member
        case .session: self = .session
        case .token: self = .token
        case .organization(_, nil): self = .organization
        case .organization(_, let sparing?): self = .organizationSparing(sparing)
        }
    }

    var arity: Int { self == .session ? 2 : 1 }

    var columns: String { self == .session ? "selector, scope" : "selector" }

    var match: String {
        switch self {
        case .member: "sessions.member_id = ending.selector"
        case .session: "sessions.id = ending.selector AND sessions.organization_id = ending.scope"
        case .token: "sessions.token_hash = ending.selector"
        case .organization: "sessions.organization_id = ending.selector"
        case .organizationSparing(let role):
            // The role is one of four integers of ours, not input: written into the statement.
            """
            sessions.organization_id = ending.selector AND sessions.member_id NOT IN \
            (SELECT id FROM members WHERE organization_id = ending.selector AND role_id = \(role.rawValue))
            """
        }
    }
}

extension SessionSelection {
    fileprivate var matchArguments: SQLArguments {
        switch self {
        case .member(let id): [id]
        case .session(let id, let organizationID): [id, organizationID]
        case .token(let hash): [hash]
        case .organization(let id, _): [id]
        }
    }
}

/// The database did not answer an end record it was asked to append: the transaction fails rather than leave a
/// session that readers would take for live.
struct EndRecordNotReturned: Error, CustomStringConvertible {
    let sessionID: String
    var description: String { "The database returned no number for the end record of session \(sessionID)" }
}
