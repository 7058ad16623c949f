import Foundation
import GRDB

/// The one statement that ends sessions, whatever selects them: a list of `VALUES` naming what ends (a member,
/// a session, a token, an organisation) with each end's revocation and time, joined to the live sessions it
/// matches, so a batch of logouts is one `UPDATE` however many members it names.
extension SQLUnitOfWork {
    func endSessions(_ ends: [SessionsToEnd], reason: SessionEndReason) throws -> [[EndedSession]] {
        var results = [[EndedSession]](repeating: [], count: ends.count)
        guard !ends.isEmpty else { return results }
        let epoch = try IndexEpoch.advance(db)
        for (shape, positions) in Dictionary(grouping: ends.indices, by: { EndShape(ends[$0].selection) }) {
            for chunk in MultiRow.chunks(positions) {
                var arguments: SQLArguments = []
                for position in chunk {
                    let end = ends[position]
                    arguments += end.selection.matchArguments + [end.revocationID, end.at.millisecondsSince1970]
                }
                let rows = try db.rows(
                    """
                    WITH ending(\(shape.columns), revocation_id, ended_at) AS (VALUES \(MultiRow.placeholders(rows: chunk.count, columns: shape.arity + 2)))
                    UPDATE sessions SET ended_at = ending.ended_at, end_reason = ?, revocation_id = ending.revocation_id, end_epoch = ?
                    FROM ending
                    WHERE \(shape.match) AND sessions.ended_at IS NULL AND sessions.expires_at > ending.ended_at
                    RETURNING sessions.token_hash, sessions.id, sessions.member_id, sessions.organization_id, sessions.revocation_id,
                        sessions.parent_id
                    """,
                    arguments + [reason.rawValue, epoch])
                // SQLite's RETURNING cannot name the joined list, so each row finds its end by what it matched.
                let positionOf = Dictionary(chunk.map { (ends[$0].selection.key, $0) }, uniquingKeysWith: { first, _ in first })
                for row in rows {
                    let ended = EndedSession(
                        tokenHash: row["token_hash"], sessionID: row["id"], memberID: row["member_id"], reason: reason,
                        revocationID: row["revocation_id"], parentID: row["parent_id"])
                    let organizationID: String = row["organization_id"]
                    guard let position = positionOf[shape.key(of: ended, organizationID: organizationID)] else { continue }
                    results[position].append(ended)
                    changes.ended.append(ended)
                }
            }
        }
        // A member's or an organisation's end already took their app sessions; one session's end takes its children.
        var parents: [(position: Int, parent: EndedSession)] = []
        for (position, end) in ends.enumerated() {
            switch end.selection {
            case .session, .token: parents += results[position].filter { $0.parentID == nil }.map { (position, $0) }
            case .member, .organization: break
            }
        }
        for (position, children) in try endChildren(of: parents, in: ends, reason: reason, epoch: epoch) {
            results[position] += children
            changes.ended += children
        }
        return results
    }

    /// Ends the app sessions opened under the sessions just ended, with their parent's revocation and time.
    private func endChildren(of parents: [(position: Int, parent: EndedSession)], in ends: [SessionsToEnd], reason: SessionEndReason, epoch: Int64?)
        throws -> [(Int, [EndedSession])]
    {
        var found: [Int: [EndedSession]] = [:]
        for chunk in MultiRow.chunks(parents) {
            var arguments: SQLArguments = []
            for (position, parent) in chunk { arguments += [parent.sessionID, parent.revocationID, ends[position].at.millisecondsSince1970] }
            let rows = try db.rows(
                """
                WITH ending(parent, revocation_id, ended_at) AS (VALUES \(MultiRow.placeholders(rows: chunk.count, columns: 3)))
                UPDATE sessions SET ended_at = ending.ended_at, end_reason = ?, revocation_id = ending.revocation_id, end_epoch = ?
                FROM ending
                WHERE sessions.parent_id = ending.parent AND sessions.ended_at IS NULL AND sessions.expires_at > ending.ended_at
                RETURNING sessions.token_hash, sessions.id, sessions.member_id, sessions.revocation_id, sessions.parent_id
                """,
                arguments + [reason.rawValue, epoch])
            let positionOf = Dictionary(chunk.map { ($0.parent.sessionID, $0.position) }, uniquingKeysWith: { first, _ in first })
            for row in rows {
                let child = EndedSession(
                    tokenHash: row["token_hash"], sessionID: row["id"], memberID: row["member_id"], reason: reason,
                    revocationID: row["revocation_id"], parentID: row["parent_id"])
                guard let parentID = child.parentID, let position = positionOf[parentID] else { continue }
                found[position, default: []].append(child)
            }
        }
        return found.map { ($0.key, $0.value) }
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

    /// What a session this shape ended is found by, among the ends of a statement (`SessionSelection.key`).
    func key(of ended: EndedSession, organizationID: String) -> AnyHashable {
        switch self {
        case .member: ended.memberID
        case .session: [ended.sessionID, organizationID]
        case .token: ended.tokenHash
        case .organization, .organizationSparing: organizationID
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

    fileprivate var key: AnyHashable {
        switch self {
        case .member(let id): id
        case .session(let id, let organizationID): [id, organizationID]
        case .token(let hash): hash
        case .organization(let id, _): id
        }
    }
}
