import BerthAPI
import BerthLinux
import BerthOCI
import BerthTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.enabled(if: TestEnvironment.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct RecoveryTests {
    @Test("after kill -9 of berthd a running task is found RUNNING and still supervised")
    func runningTaskSurvives() throws {
        let daemon = try Daemon("rec-run")
        defer { daemon.cleanUp() }
        _ = try daemon.launch(#"{"id":"rec-sleeper","cmd":"while true; do echo alive; sleep 0.1; done"}"#)
        try daemon.wait("rec-sleeper", for: .running)
        try daemon.restart(after: SIGKILL)
        let found = try daemon.task("rec-sleeper")
        #expect(found.status.state == .running)
        // Still supervised: its output keeps arriving, and killing it works end to end.
        let before = try daemon.client.callRaw("GET", Routes.taskLogs("rec-sleeper")).count
        #expect(try Host.eventually { try daemon.client.callRaw("GET", Routes.taskLogs("rec-sleeper")).count > before })
        _ = try daemon.client.call("POST", Routes.killTask("rec-sleeper"), body: KillRequest(graceSeconds: 1), as: TaskInfo.self)
        #expect(try daemon.wait("rec-sleeper").status.state == .killed)
        #expect(TestEnvironment.cgroupDirectories(containing: "rec-sleeper").isEmpty)
    }

    @Test("a task that ended while berthd was down gets its real exit status")
    func endedWhileDown() throws {
        let daemon = try Daemon("rec-ended")
        defer { daemon.cleanUp() }
        // It ends when told to, once berthd is down (a fixed lifetime could end before RUNNING
        // was seen, or after berthd is back).
        _ = try daemon.launch(#"{"id":"rec-short","cmd":"until [ -e go ]; do sleep 0.05; done; exit 7"}"#)
        let running = try daemon.wait("rec-short", for: .running)
        try daemon.stop(signal: SIGKILL)
        try FileSystem.writeAtomically([UInt8](), to: running.sandbox + "/go")
        #expect(Host.eventually { FileSystem.exists(daemon.stateDir + "/tasks/rec-short/runs/1/exit.json") }, "its supervisor records the end")
        try daemon.start()
        let done = try daemon.wait("rec-short")
        #expect(done.status.state == .failed)
        #expect(done.status.exitCode == 7)
        #expect(daemon.containersLeft == [], "the container is deleted")
    }

    @Test("SIGTERM stops berthd gracefully without stopping tasks")
    func gracefulStop() throws {
        let daemon = try Daemon("rec-term")
        defer { daemon.cleanUp() }
        _ = try daemon.launch(#"{"id":"rec-calm","cmd":"sleep 600"}"#)
        try daemon.wait("rec-calm", for: .running)
        try daemon.stop(signal: SIGTERM)
        #expect(daemon.log().contains("tasks keep running"))
        #expect(!FileSystem.exists(daemon.socket), "the socket is removed on a graceful stop")
        #expect(!Host.processes(matching: "rec-calm.1").isEmpty, "the task still runs")
        try daemon.start()
        #expect(try daemon.task("rec-calm").status.state == .running)
    }

    @Test("a task half-launched when berthd died is launched again; one from before a reboot is LOST")
    func halfLaunchedAndRebooted() throws {
        let daemon = try Daemon("rec-half")
        defer { daemon.cleanUp() }
        try daemon.stop()
        let bootID = (try FileSystem.readString("/proc/sys/kernel/random/boot_id")).trimmingCharacters(in: .whitespacesAndNewlines)
        try writeCheckpoint(daemon, id: "rec-half", state: "STAGING", bootID: bootID)
        try writeCheckpoint(daemon, id: "rec-old", state: "RUNNING", bootID: "00000000-dead-beef-0000-000000000000")
        // RUNNING is not checkpointed: a run that had started says so with its started marker.
        try writeCheckpoint(daemon, id: "rec-ran", state: "STAGING", bootID: "00000000-dead-beef-0000-000000000000")
        try FileSystem.createDirectory(daemon.stateDir + "/tasks/rec-ran/runs/1")
        try FileSystem.writeAtomically(Array(#"{"initPid":4242}"#.utf8), to: daemon.stateDir + "/tasks/rec-ran/runs/1/started")
        try daemon.start()
        let half = try daemon.wait("rec-half")
        #expect(half.status.state == .finished, "\(half.status)")
        #expect(String(decoding: try daemon.client.callRaw("GET", Routes.taskLogs("rec-half")), as: UTF8.self) == "completed\n")
        let old = try daemon.task("rec-old")
        #expect(old.status.state == .lost)
        #expect(old.status.reason == .reboot)
        let ran = try daemon.task("rec-ran")
        #expect(ran.status.state == .lost)
        #expect(ran.status.message?.hasSuffix("while the task was RUNNING") == true, "\(ran.status)")
    }

    @Test("a full state disk refuses launches with 507 and corrupts no checkpoint")
    func fullDisk() throws {
        let directory = try TestEnvironment.temporaryDirectory("rec-full")
        let stateDir = directory + "/state"
        try FileSystem.createDirectory(stateDir)
        try Host.run(["/bin/mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", stateDir])
        defer {
            _ = try? Host.run(["/bin/umount", "-l", stateDir])
            try? FileSystem.removeTree(directory)
        }
        let daemon = try Daemon("rec-full", stateDir: stateDir)
        defer { daemon.cleanUp() }
        _ = try daemon.launch(#"{"id":"rec-before","cmd":"sleep 600"}"#)
        try daemon.wait("rec-before", for: .running)
        let checkpoint = try FileSystem.readBytes(stateDir + "/tasks/rec-before/task.json")
        // Fill the disk.
        _ = try? Host.run(["/bin/dd", "if=/dev/zero", "of=\(stateDir)/filler", "bs=64k"])
        _ = try? Host.run(["/bin/dd", "if=/dev/zero", "of=\(stateDir)/filler2", "bs=4k"])
        let (status, answer) = try daemon.raw("POST", "/v1/tasks", body: #"{"id":"rec-after","cmd":"true"}"#)
        #expect(status == 507, "\(answer)")
        #expect(answer.contains("No space left"), "\(answer)")
        #expect(try FileSystem.readBytes(stateDir + "/tasks/rec-before/task.json") == checkpoint)
        #expect(try OCIJSON.decode(TaskInfo.self, from: Data(try daemon.client.callRaw("GET", Routes.task("rec-before"))), source: "x").status.state == .running)
    }

    /// A checkpoint as berthd writes it, for a task that never got a supervisor.
    private func writeCheckpoint(_ daemon: Daemon, id: String, state: String, bootID: String) throws {
        let directory = daemon.stateDir + "/tasks/" + id
        try FileSystem.createDirectory(directory + "/sandbox")
        let json = """
        {"definition":{"id":"\(id)","cmd":"echo completed","resources":{"cpus":0.1,"mem":32}},
         "allocation":{"taskId":"\(id)","role":"*","hostPorts":[],"gpus":[],"offerIds":[],"resources":[{"name":"cpus","type":"scalar","scalar":0.1},{"name":"mem","type":"scalar","scalar":32}]},
         "status":{"taskId":"\(id)","state":"\(state)","timestamp":1},
         "run":1,"restarts":0,"bootID":"\(bootID)","killRequested":false,"killedForHealth":false}
        """
        try FileSystem.writeAtomically(Array(json.utf8), to: directory + "/task.json")
    }
}
