@testable import BerthAgent
import BerthLinux
import BerthTestSupport
import Foundation
import Testing

/// What a berthd that restarts after a crash concludes about a run without supervisor.json.
@Suite struct RecoveryLockTests {
    private func layout() throws -> (TaskLayout, String) {
        let stateDir = try TestEnvironment.temporaryDirectory("recovery-lock")
        let layout = TaskLayout(stateDir: stateDir, taskID: "t1")
        try FileSystem.createDirectory(layout.runDirectory(1))
        return (layout, stateDir)
    }

    @Test("no run directory, or a free lock: no supervisor, at once")
    func noSupervisor() throws {
        let (layout, stateDir) = try layout()
        defer { try? FileSystem.removeTree(stateDir) }
        #expect(Agent.startingSupervisor(layout, run: 2) == nil)
        let began = ContinuousClock.now
        #expect(Agent.startingSupervisor(layout, run: 1) == nil)
        #expect(ContinuousClock.now - began < .seconds(5))
    }

    @Test("a held lock: the record the supervisor then writes is waited for and returned")
    func supervisorOnItsWay() throws {
        let (layout, stateDir) = try layout()
        defer { try? FileSystem.removeTree(stateDir) }
        let lock = try #require(try FileLock.tryAcquire(layout.supervisorLock(1), directory: true))
        let writer = Thread {
            usleep(300_000)
            let json = #"{"pid":\#(getpid()),"startTime":\#(ProcFS.startTime(of: getpid()) ?? 0),"containerId":"t1.1"}"#
            try? FileSystem.writeAtomically(Array(json.utf8), to: layout.supervisorRecord(1), durable: false)
        }
        writer.start()
        defer { lock.unlock() }
        let found = try #require(Agent.startingSupervisor(layout, run: 1))
        #expect(found.pid == getpid() && found.containerId == "t1.1")
    }

    @Test("a held lock let go without a record: no supervisor")
    func supervisorDiedSettingUp() throws {
        let (layout, stateDir) = try layout()
        defer { try? FileSystem.removeTree(stateDir) }
        let lock = try #require(try FileLock.tryAcquire(layout.supervisorLock(1), directory: true))
        let releaser = Thread {
            usleep(300_000)
            lock.unlock()
        }
        releaser.start()
        #expect(Agent.startingSupervisor(layout, run: 1) == nil)
        #expect(!FileSystem.exists(layout.supervisorRecord(1)))
    }
}
