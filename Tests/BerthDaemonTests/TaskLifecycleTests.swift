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
struct TaskLifecycleTests {
    @Test("a plain task goes STAGING, STARTING, RUNNING, FINISHED, with its output in the sandbox")
    func plainTaskFinishes() throws {
        let daemon = try Daemon("life")
        defer { daemon.cleanUp() }
        // Watch from before the launch: every transition must be on the stream, in order.
        let updates = StatusRecorder(daemon.client)
        let info = try daemon.launch(#"{"id":"life-ok","cmd":"echo out-$BERTH_TASK_ID; echo err >&2; pwd; sleep 0.3","resources":{"cpus":0.2,"mem":32}}"#)
        #expect(info.status.state == .staging)
        let done = try daemon.wait("life-ok")
        #expect(done.status.state == .finished)
        #expect(done.status.exitCode == 0)
        let stdout = try daemon.client.callRaw("GET", Routes.taskLogs("life-ok") + "?stream=stdout")
        #expect(String(decoding: stdout, as: UTF8.self) == "out-life-ok\n\(done.sandbox)\n")
        let stderr = try daemon.client.callRaw("GET", Routes.taskLogs("life-ok") + "?stream=stderr")
        #expect(String(decoding: stderr, as: UTF8.self) == "err\n")
        #expect(updates.states(of: "life-ok", count: 4) == [.staging, .starting, .running, .finished])
        // The container is gone from the runtime once the task ended.
        #expect(daemon.containersLeft == [])
    }

    @Test("the smallest CPU share runs (its quota is floored at the kernel's 1 ms), and a task too short to be seen starting is still reported RUNNING")
    func tinyAndShortTasks() throws {
        let daemon = try Daemon("tiny")
        defer { daemon.cleanUp() }
        let updates = StatusRecorder(daemon.client)
        _ = try daemon.launch(#"{"id":"tiny-cpu","cmd":"true","resources":{"cpus":0.001,"mem":8}}"#)
        let done = try daemon.wait("tiny-cpu")
        #expect(done.status.state == .finished, "\(done.status)")
        #expect(updates.states(of: "tiny-cpu", count: 4) == [.staging, .starting, .running, .finished])
    }

    @Test("a task that exits non-zero is FAILED with its exit code; one killed by a signal names it")
    func failedTasks() throws {
        let daemon = try Daemon("fail")
        defer { daemon.cleanUp() }
        _ = try daemon.launch(#"{"id":"fail-3","cmd":"exit 3"}"#)
        // The init of a pid namespace ignores signals it has no handler for, unless they come
        // from outside: kill it from the host as the OOM killer or an operator would.
        _ = try daemon.launch(#"{"id":"fail-sig","cmd":"exec sleep 3171"}"#)
        try daemon.wait("fail-sig", for: .running)
        // RUNNING comes once the init is released, maybe before it execs the shell: until then
        // its command line is berth's, and nothing would be killed.
        #expect(Host.eventually { !Host.processes(matching: "sleep 3171").isEmpty })
        for pid in Host.processes(matching: "sleep 3171") { kill(pid, SIGKILL) }
        let three = try daemon.wait("fail-3")
        #expect(three.status.state == .failed)
        #expect(three.status.reason == .exited)
        #expect(three.status.exitCode == 3)
        let signalled = try daemon.wait("fail-sig")
        #expect(signalled.status.state == .failed)
        #expect(signalled.status.signal == SIGKILL)
        #expect(signalled.status.message == "killed by signal 9")
    }

    @Test("a plain task has its own pid, mount, ipc and uts namespaces and its cgroup limits")
    func plainTaskIsolation() throws {
        let daemon = try Daemon("iso")
        defer { daemon.cleanUp() }
        let script = "echo pid=$$; hostname; readlink /proc/self/ns/ipc; cat /proc/self/cgroup | grep -E ':memory:|:cpu,' | head -2"
        _ = try daemon.launch(#"{"id":"iso-ns","cmd":"\#(script)","resources":{"cpus":0.5,"mem":48}}"#)
        let done = try daemon.wait("iso-ns")
        #expect(done.status.state == .finished, "\(done.status)")
        let out = String(decoding: try daemon.client.callRaw("GET", Routes.taskLogs("iso-ns")), as: UTF8.self)
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines.first == "pid=1")
        #expect(lines.dropFirst().first == "iso-ns")
        let hostIPC = Host.readLink("/proc/self/ns/ipc")
        #expect(lines.count > 2 && lines[2] != hostIPC)
        #expect(out.contains("berthd/iso-ns.1"), "the task runs in its own cgroup: \(out)")
    }

    @Test("kill sends SIGTERM, then SIGKILL after the grace period; the task ends KILLED")
    func killWithGrace() throws {
        let daemon = try Daemon("kill")
        defer { daemon.cleanUp() }
        // The task ignores SIGTERM, so only the SIGKILL after the grace period ends it. Each
        // task says when its trap is set: the init of a pid namespace drops a TERM it has no
        // handler for, and RUNNING can come before the shell got that far.
        _ = try daemon.launch(#"{"id":"kill-stubborn","cmd":"trap 'echo got-term' TERM; echo ready; while true; do sleep 0.1; done","killGracePeriodSeconds":3}"#)
        try daemon.waitForOutput("kill-stubborn", containing: "ready")
        _ = try daemon.launch(#"{"id":"kill-polite","cmd":"trap 'echo bye; exit 0' TERM; echo ready; while true; do sleep 0.1; done"}"#)
        try daemon.waitForOutput("kill-polite", containing: "ready")
        let answer = try daemon.client.call("POST", Routes.killTask("kill-stubborn"), body: KillRequest(), as: TaskInfo.self)
        #expect(answer.status.state == .killing)
        _ = try daemon.client.call("POST", Routes.killTask("kill-polite"), body: KillRequest(graceSeconds: 10), as: TaskInfo.self)
        let stubborn = try daemon.wait("kill-stubborn")
        #expect(stubborn.status.state == .killed)
        #expect(stubborn.status.reason == .killedByScheduler)
        #expect(stubborn.status.signal == SIGKILL)
        let polite = try daemon.wait("kill-polite")
        #expect(polite.status.state == .killed)
        #expect(polite.status.exitCode == 0)
        let log = String(decoding: try daemon.client.callRaw("GET", Routes.taskLogs("kill-stubborn")), as: UTF8.self)
        #expect(log.contains("got-term"))
        #expect(TestEnvironment.cgroupDirectories(containing: "kill-stubborn").isEmpty)
        // A second kill of an ended task is a conflict, not a crash.
        #expect(throws: APIClientError.self) {
            try daemon.client.call("POST", Routes.killTask("kill-stubborn"), body: KillRequest(), as: TaskInfo.self)
        }
    }

    @Test("a task over its memory limit is FAILED with reason oomKilled")
    func oomKilled() throws {
        let daemon = try Daemon("oom")
        defer { daemon.cleanUp() }
        // tail keeps everything it reads in memory; /dev/zero has no newlines.
        _ = try daemon.launch(#"{"id":"oom-hog","cmd":"tail /dev/zero","resources":{"cpus":0.5,"mem":32}}"#)
        let done = try daemon.wait("oom-hog", timeout: .seconds(60))
        #expect(done.status.state == .failed)
        #expect(done.status.reason == .oomKilled, "\(done.status)")
    }

    @Test("restart on-failure relaunches up to maxRetries, with a new run each time")
    func restartOnFailure() throws {
        let daemon = try Daemon("restart")
        defer { daemon.cleanUp() }
        let updates = StatusRecorder(daemon.client)
        _ = try daemon.launch(#"{"id":"restart-flaky","cmd":"echo run; exit 1","restart":{"policy":"on-failure","maxRetries":2,"backoffSeconds":0.1}}"#)
        let deadline = ContinuousClock.now + .seconds(90)
        var info = try daemon.task("restart-flaky")
        while ContinuousClock.now < deadline && !(info.status.state == .failed && info.restarts == 2) {
            usleep(100_000)
            info = try daemon.task("restart-flaky")
        }
        #expect(info.status.state == .failed)
        #expect(info.restarts == 2)
        #expect(info.status.containerId == "restart-flaky.3")
        let states = updates.states(of: "restart-flaky", count: 12)
        #expect(states.filter { $0 == .failed }.count == 3)
        #expect(states.filter { $0 == .running }.count == 3)
        // An always-restarting task ends only when killed, and then stays KILLED.
        _ = try daemon.launch(#"{"id":"restart-always","cmd":"sleep 0.2","restart":{"policy":"always","backoffSeconds":0.1}}"#)
        #expect(try Host.eventually(timeout: .seconds(90)) { try daemon.task("restart-always").restarts >= 2 })
        _ = try daemon.client.call("POST", Routes.killTask("restart-always"), body: KillRequest(), as: TaskInfo.self)
        let killed = try daemon.wait("restart-always", for: .killed)
        usleep(500_000)
        #expect(try daemon.task("restart-always").status.state == .killed)
        #expect(try daemon.task("restart-always").restarts == killed.restarts)
    }

    @Test("logs --follow streams a running task's output until it ends")
    func followLogs() throws {
        let daemon = try Daemon("follow")
        defer { daemon.cleanUp() }
        // The task ends only after the stream has shown its first lines: what is followed is a
        // running task (a fixed lifetime could end before a slow test starts following).
        let info = try daemon.launch(#"{"id":"follow-ticker","cmd":"for i in 1 2 3; do echo tick $i; sleep 0.2; done; until [ -e go ]; do sleep 0.05; done; echo tick 4; echo tick 5"}"#)
        try daemon.wait("follow-ticker", for: .running)
        var received: [UInt8] = []
        var released = false
        try daemon.client.stream(Routes.taskLogs("follow-ticker") + "?follow=1") { chunk in
            received += chunk
            if !released && String(decoding: received, as: UTF8.self).contains("tick 3\n") {
                released = (try? FileSystem.writeAtomically([UInt8](), to: info.sandbox + "/go")) != nil
            }
            return true
        }
        #expect(released, "the stream showed tick 3 while the task ran")
        #expect(String(decoding: received, as: UTF8.self) == "tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n")
    }
}

/// Collects status updates from `GET /v1/events` in the background.
final class StatusRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var updates: [TaskStatus] = []

    init(_ client: AgentClient) {
        let ready = DispatchSemaphore(value: 0)
        Thread.detachNewThread { [self] in
            var opened = false
            var pending: [UInt8] = []
            try? client.stream(Routes.events) { chunk in
                if !opened { opened = true; ready.signal() }
                pending += chunk
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = Array(pending[..<newline])
                    pending.removeSubrange(...newline)
                    if let status = try? OCIJSON.decode(TaskStatus.self, from: Data(line), source: "event") {
                        self.lock.withLock { self.updates.append(status) }
                    }
                }
                return true
            }
            if !opened { ready.signal() }
        }
        // berthd opens the stream with an empty line once the subscription is in place.
        _ = ready.wait(timeout: .now() + 60)
    }

    /// The states of `task`'s first `count` updates, waiting up to 60 s for them.
    func states(of task: String, count: Int) -> [TaskState] {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let states = lock.withLock { updates.filter { $0.taskId == task }.map(\.state) }
            if states.count >= count { return Array(states.prefix(count)) }
            usleep(50_000)
        }
        return lock.withLock { updates.filter { $0.taskId == task }.map(\.state) }
    }
}
