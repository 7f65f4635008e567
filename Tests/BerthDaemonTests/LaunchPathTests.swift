import BerthAPI
import BerthLinux
import BerthOCI
import BerthTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The launch path as it overlaps: the answer comes once the checkpoint is on disk, launches from
/// many clients run side by side, and a kill or a kill -9 of berthd at any moment of a launch
/// leaves exactly one run per task, or none.
@Suite(.enabled(if: TestEnvironment.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct LaunchPathTests {
    /// The part of tasks/ID/task.json a reader relies on.
    private struct CheckpointView: Decodable {
        struct Definition: Decodable { var id: String }
        struct Status: Decodable { var state: TaskState }
        var definition: Definition
        var status: Status
        var run: Int
    }

    /// Supervisors of a task's first run (their command line names the container id).
    private func supervisors(of id: String) -> [Int32] {
        Host.processes(matching: "--container-id \(id).1 --log-max-bytes")
    }

    @Test("a launch is answered only with its checkpoint in place")
    func answeredAfterCheckpoint() throws {
        let daemon = try Daemon("lp-ckpt")
        defer { daemon.cleanUp() }
        let info = try daemon.launch(#"{"id":"lp-ckpt","cmd":"sleep 600"}"#)
        #expect(info.status.state == .staging)
        let path = daemon.stateDir + "/tasks/lp-ckpt/task.json"
        let saved = try OCIJSON.decode(CheckpointView.self, from: Data(try FileSystem.readBytes(path)), source: path)
        #expect(saved.definition.id == "lp-ckpt")
        #expect(saved.run == 1)
        try daemon.wait("lp-ckpt", for: .running)
        #expect(supervisors(of: "lp-ckpt").count == 1)
        // RUNNING is not written to the checkpoint: the run's started marker says it.
        let running = try OCIJSON.decode(CheckpointView.self, from: Data(try FileSystem.readBytes(path)), source: path)
        #expect(running.status.state == .staging)
        #expect(FileSystem.exists(daemon.stateDir + "/tasks/lp-ckpt/runs/1/started"))
    }

    @Test("16 clients launching at once: every task runs once; one id launched 8 times at once is taken once")
    func concurrentClients() throws {
        let daemon = try Daemon("lp-many")
        defer { daemon.cleanUp() }
        let ids = (0..<16).map { "lpm\($0)x" }
        let outcomes = Outcomes()
        DispatchQueue.concurrentPerform(iterations: ids.count) { index in
            let result = Result { try daemon.launch(#"{"id":"\#(ids[index])","cmd":"sleep 600","resources":{"cpus":0.01,"mem":16}}"#) }
            outcomes.set(index, (try? result.get()) != nil)
        }
        #expect(outcomes.values.count == 16 && outcomes.values.allSatisfy { $0 }, "every launch was answered 201")
        for id in ids {
            try daemon.wait(id, for: .running)
            #expect(supervisors(of: id).count == 1, "\(id)")
        }
        let statuses = Outcomes()
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            let (status, _) = (try? daemon.raw("POST", "/v1/tasks", body: #"{"id":"lpdup","cmd":"sleep 600"}"#)) ?? (0, "")
            statuses.set(index, status == 201)
            statuses.setStatus(index, status)
        }
        #expect(statuses.values.filter { $0 }.count == 1, "exactly one 201: \(statuses.statuses)")
        #expect(statuses.statuses.filter { $0 == 409 }.count == 7, "the others are duplicates: \(statuses.statuses)")
        try daemon.wait("lpdup", for: .running)
        #expect(supervisors(of: "lpdup").count == 1)
    }

    @Test("a task killed the moment it is launched ends KILLED with nothing left running")
    func killDuringLaunch() throws {
        let daemon = try Daemon("lp-kill")
        defer { daemon.cleanUp() }
        // Several tries, so the kill lands at different moments of the launch.
        for attempt in 0..<6 {
            let id = "lpk\(attempt)x"
            _ = try daemon.launch(#"{"id":"\#(id)","cmd":"sleep 600"}"#)
            if attempt > 0 { usleep(useconds_t(attempt) * 8_000) }
            _ = try daemon.client.call("POST", Routes.killTask(id), body: KillRequest(graceSeconds: 0), as: TaskInfo.self)
            let done = try daemon.wait(id)
            #expect(done.status.state == .killed, "\(id): \(done.status)")
            #expect(Host.eventually { supervisors(of: id).isEmpty }, "\(id): its supervisor exits")
            #expect(Host.processes(matching: "\(id).1").isEmpty, "\(id): nothing of it runs")
            #expect(TestEnvironment.cgroupDirectories(containing: "\(id).1").isEmpty, "\(id): its cgroup is gone")
        }
        #expect(daemon.containersLeft == [], "no container is left")
    }

    @Test("kill -9 of berthd in the middle of launches: after the restart each task runs exactly once")
    func killNineDuringLaunches() throws {
        let daemon = try Daemon("lp-nine")
        defer { daemon.cleanUp() }
        let ids = (0..<6).map { "lpn\($0)x" }
        for id in ids {
            _ = try daemon.launch(#"{"id":"\#(id)","cmd":"sleep 600"}"#)
        }
        // The last launches are somewhere between their answer and RUNNING.
        try daemon.restart(after: SIGKILL)
        for id in ids {
            try daemon.wait(id, for: .running)
            #expect(Host.eventually { supervisors(of: id).count == 1 }, "\(id): one supervisor")
            // A second run of the same container would have failed in the runtime's log.
            let log = (try? FileSystem.readString(daemon.stateDir + "/tasks/\(id)/runs/1/runtime.log")) ?? ""
            #expect(!log.contains("\"error\""), "\(id): \(log)")
        }
        for id in ids {
            #expect(try daemon.task(id).status.state == .running, "\(id)")
        }
    }
}

/// Results of concurrent calls, by index.
private final class Outcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var flags: [Int: Bool] = [:]
    private var codes: [Int: Int] = [:]
    func set(_ index: Int, _ value: Bool) { lock.withLock { flags[index] = value } }
    func setStatus(_ index: Int, _ value: Int) { lock.withLock { codes[index] = value } }
    var values: [Bool] { lock.withLock { flags.keys.sorted().map { flags[$0]! } } }
    var statuses: [Int] { lock.withLock { codes.keys.sorted().map { codes[$0]! } } }
}
