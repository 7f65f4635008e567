import BerthAPI
import BerthLinux
import BerthOCI
import BerthTestSupport
import Foundation
import Testing
@testable import BerthAgent

/// Checkpoints are renamed into place whole (what a berthd killed at any moment relies on) and
/// made durable by a separate sync, so the agent never waits on the disk.
@Suite("CheckpointTests")
struct CheckpointTests {
    private struct Note: Codable, Equatable {
        var state: String
        var run: Int
    }

    private func directory() throws -> String { try TestEnvironment.temporaryDirectory("checkpoint") }

    @Test("save replaces the whole file, leaves no temporary file, and load reads it back")
    func saveAndLoad() throws {
        let dir = try directory()
        defer { try? FileSystem.removeTree(dir) }
        let path = dir + "/task.json"
        try Checkpoint.save(Note(state: "STAGING", run: 1), to: path)
        try Checkpoint.save(Note(state: "RUNNING", run: 2), to: path)
        #expect(try Checkpoint.load(Note.self, from: path).get() == Note(state: "RUNNING", run: 2))
        #expect(try FileSystem.listDirectory(dir) == ["task.json"])
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600, "checkpoints are private to root")
        try Checkpoint.sync(path)
        try Checkpoint.save(Note(state: "FINISHED", run: 2), to: path, durable: true)
        #expect(try Checkpoint.load(Note.self, from: path).get() == Note(state: "FINISHED", run: 2))
        #expect(try FileSystem.listDirectory(dir) == ["task.json"])
    }

    @Test("a write that cannot happen leaves the old checkpoint and names the path")
    func failedWrites() throws {
        let dir = try directory()
        defer { try? FileSystem.removeTree(dir) }
        let missing = dir + "/gone/task.json"
        let saved = Result { () throws(APIError) in try Checkpoint.save(Note(state: "STAGING", run: 1), to: missing) }
        guard case .failure(let error) = saved else {
            Issue.record("saving into a missing directory succeeded")
            return
        }
        #expect(error.status == 500)
        #expect(error.message.contains(missing), "\(error.message)")
        let synced = Result { () throws(APIError) in try Checkpoint.sync(missing) }
        guard case .failure(let syncError) = synced else {
            Issue.record("syncing a missing checkpoint succeeded")
            return
        }
        #expect(syncError.message.contains(missing), "\(syncError.message)")
    }
}
