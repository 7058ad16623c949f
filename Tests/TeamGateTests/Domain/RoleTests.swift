import Testing

@testable import TeamGate

@Suite("Role")
struct RoleTests {
    @Test("DoubleTick's four roles, found by id or by name")
    func lookup() {
        #expect(Role.allCases.map(\.name) == ["Owner", "Team Lead", "Team Member (all chats)", "Team Member (assigned chats)"])
        #expect(Role(nameOrID: "2") == .teamLead)
        #expect(Role(nameOrID: "team lead") == .teamLead)
        #expect(Role(nameOrID: "Team Member (assigned chats)") == .teamMemberAssignedChats)
        #expect(Role(nameOrID: "9") == nil)
        #expect(Role(nameOrID: "Admin") == nil)
    }
}
