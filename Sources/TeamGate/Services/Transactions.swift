import Foundation

/// Runs the units of work services compose, and is the one place connected devices hear that this
/// instance ended their sessions: right after the commit, from the list the unit of work returned.
struct Transactions: Sendable {
    let store: any TeamGateStore
    let sessionEvents: SessionEventHub

    func run<Value: Sendable>(_ work: @escaping @Sendable (any UnitOfWork) throws -> Value) async throws -> Value {
        let committed = try await store.perform(work)
        publish(committed.endedSessions)
        return committed.value
    }

    /// For a unit of work whose refusal is an everyday answer (a logout for a stranger): it returns the
    /// refusal rather than throwing it, so the group commit need not roll its batch back and retry the
    /// other writes one savepoint at a time; the refusal is thrown once the batch has committed.
    func decide<Value: Sendable>(_ work: @escaping @Sendable (any UnitOfWork) throws -> Decision<Value>) async throws -> Value {
        try await run(work).get()
    }

    /// The same for a unit of work shared with the other callers of its kind in the group commit: the
    /// devices hear of the sessions this caller's input ended.
    func decide<Input: Sendable, Value: Sendable>(_ input: Input, sharing kind: SharedUnitOfWork<Input, Decision<Value>>) async throws -> Value {
        let committed = try await store.perform(input, sharing: kind)
        publish(committed.endedSessions)
        return try committed.value.get()
    }

    private func publish(_ ended: [EndedSession]) {
        guard !ended.isEmpty else { return }
        sessionEvents.publish(ended)
        TeamGateMetrics.sessionsEnded(ended)
    }
}

/// What a unit of work decided: its result, or the rule that refused it.
enum Decision<Value: Sendable>: Sendable {
    case done(Value)
    case refused(TeamGateError)

    func get() throws -> Value {
        switch self {
        case .done(let value): return value
        case .refused(let error): throw error
        }
    }
}
