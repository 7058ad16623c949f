import Foundation
import Testing

@testable import TeamGate

/// The `teamgate` executable, run as an operator runs it, on a real SQLite file.
@Suite("The CLI")
struct CommandLineTests {
    /// The executable SwiftPM built beside this test bundle.
    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("teamgate")
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        let complained = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: printed, as: UTF8.self), String(decoding: complained, as: UTF8.self))
    }

    @Test("members add --role 1 is refused with a sentence and exit status 2; the team keeps one Owner")
    func secondOwner() throws {
        // setup
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("teamgate-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer {
            do { try FileManager.default.removeItem(at: folder) } catch { Issue.record("could not remove \(folder.path): \(error)") }
        }
        let database = ["--database", folder.appendingPathComponent("teamgate.sqlite").path]
        let created = try Self.run(["org", "create", "--name", "Acme", "--owner-phone", "+919800000001"] + database)
        #expect(created.status == 0, "\(created.errors)")
        // act
        let owner = try Self.run(["members", "add", "--name", "X", "--phone", "+919800000002", "--role", "1"] + database)
        let bell = try Self.run(["members", "add", "--name", "Eve\u{7}", "--phone", "+919800000003"] + database)
        let listed = try Self.run(["members", "list", "--json"] + database)
        // check
        #expect(owner.status == 2)
        #expect(owner.errors == "Error: The Owner role cannot be assigned.\n")
        #expect(bell.status == 2)
        #expect(bell.errors == "Error: name must be 1–200 printable characters\n")
        let members = try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]] ?? []
        #expect(members.count == 1 && members.filter { $0["orgRoleId"] as? Int == 1 }.count == 1)
    }
}
