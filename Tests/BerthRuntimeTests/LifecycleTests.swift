import BerthLinux
import BerthOCI
import Foundation
import Testing

@Suite("Lifecycle: create, start, state, kill, delete, list, run", .enabled(if: TestHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct LifecycleTests {
    @Test("run passes the container's exit status through")
    func runExitStatus() throws {
        let sandbox = try Sandbox("exit")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["sh", "-c", "echo out; echo err >&2; exit 7"])
        let output = try sandbox.run(bundle)
        #expect(output.status == .exited(7))
        #expect(output.out == "out\n")
        #expect(output.err == "err")
        // run deletes the container afterwards.
        #expect(try sandbox.berth("list", "-q").out == "")
    }

    @Test("a process killed by a signal exits as 128 + signal")
    func runSignalStatus() throws {
        let sandbox = try Sandbox("signal")
        defer { sandbox.cleanUp() }
        // Not pid 1 (which ignores signals from inside its namespace): no pid namespace here.
        let bundle = try sandbox.bundle(["sh", "-c", "kill -9 $$"]) { spec in
            spec.linux?.namespaces?.removeAll { $0.type == "pid" }
        }
        let output = try sandbox.run(bundle)
        #expect(output.status == .exited(137))
    }

    @Test("create leaves the process waiting; start runs it; state follows; delete removes it")
    func createStartStateDelete() throws {
        let sandbox = try Sandbox("lifecycle")
        defer { sandbox.cleanUp() }
        let marker = sandbox.directory + "/bundle/rootfs/started"
        let bundle = try sandbox.bundle(["sh", "-c", "touch /started; exec sleep 1000"])
        let pidFile = sandbox.directory + "/pid"
        let create = try sandbox.berth("create", "--bundle", bundle, "--pid-file", pidFile, "lifecycle-box")
        #expect(create.succeeded, "\(create.err)")
        let created = try sandbox.state("lifecycle-box")
        #expect(created.status == .created)
        #expect(created.id == "lifecycle-box")
        #expect(created.bundle == bundle)
        let pid = try #require(created.pid)
        #expect(pid > 0)
        #expect(try FileSystem.readString(pidFile) == String(pid))
        #expect(!FileSystem.exists(marker), "the process ran before start")

        #expect(try sandbox.berth("start", "lifecycle-box").succeeded)
        #expect(try sandbox.state("lifecycle-box").status == .running)
        try waitUntil { FileSystem.exists(marker) }

        let list = try sandbox.berth("list", "--format", "json")
        let entries = try JSONSerialization.jsonObject(with: Data(list.standardOutput)) as? [[String: Any]]
        #expect(entries?.first?["id"] as? String == "lifecycle-box")
        #expect(entries?.first?["status"] as? String == "running")
        #expect(try sandbox.berth("list").out.contains("lifecycle-box"))

        let refused = try sandbox.berth("delete", "lifecycle-box")
        #expect(refused.status == .exited(1))
        #expect(refused.err == "berth: cannot delete container \"lifecycle-box\": it is running (stop it first, or use --force)")

        #expect(try sandbox.berth("kill", "lifecycle-box", "KILL").succeeded)
        try waitUntil { (try? sandbox.state("lifecycle-box").status) == .stopped }
        #expect(try sandbox.state("lifecycle-box").pid == 0)
        #expect(try sandbox.berth("delete", "lifecycle-box").succeeded)
        let gone = try sandbox.berth("state", "lifecycle-box")
        #expect(gone.err == "berth: container \"lifecycle-box\" does not exist")
        #expect(TestHost.cgroupDirectories(containing: "berth/lifecycle-box").isEmpty)
    }

    @Test("kill sends the named signal; --all reaches every process of the cgroup")
    func killSignals() throws {
        let sandbox = try Sandbox("kill")
        defer { sandbox.cleanUp() }
        // An init without a handler ignores the signal (pid namespace rule): /ready says the
        // trap is set and both sleeps are forked.
        let bundle = try sandbox.bundle(["sh", "-c", "trap 'echo got-usr1 > /signal; exit 3' USR1; sleep 1000 & sleep 1000 & touch /ready; while :; do sleep 0.05; done"])
        let ready = bundle + "/rootfs/ready"
        #expect(try sandbox.berth("run", "--detach", "--bundle", bundle, "kill-1").succeeded)
        try waitUntil("kill-1 to be ready") { FileSystem.exists(ready) }
        #expect(try sandbox.berth("kill", "kill-1", "SIGUSR1").succeeded)
        // The shell creates the file before it writes the line: wait for the whole line.
        try waitUntil { (try? FileSystem.readString(bundle + "/rootfs/signal"))?.hasSuffix("\n") == true }
        #expect(try FileSystem.readString(bundle + "/rootfs/signal") == "got-usr1\n")

        #expect(unlink(ready) == 0)
        #expect(try sandbox.berth("run", "--detach", "--bundle", bundle, "kill-2").succeeded)
        try waitUntil("kill-2 to be ready") { FileSystem.exists(ready) }
        let processes = try sandbox.berth("ps", "--format", "json", "kill-2")
        let pids = try JSONSerialization.jsonObject(with: Data(processes.standardOutput)) as? [Int]
        #expect((pids ?? []).count >= 3, "\(processes.out)")
        #expect(try sandbox.berth("ps", "kill-2").out.contains("sleep 1000"))
        #expect(try sandbox.berth("kill", "--all", "kill-2", "9").succeeded)
        try waitUntil { (try? sandbox.state("kill-2").status) == .stopped }
        for pid in pids ?? [] { #expect(!ProcFS.isRunning(pid: Int32(pid), startTime: nil)) }
        #expect(try sandbox.berth("kill", "kill-2", "FOO").err == "berth: kill: \"FOO\" is not a signal")
    }

    @Test("delete --force stops a running container and leaves no cgroup")
    func forceDelete() throws {
        let sandbox = try Sandbox("force")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["sleep", "1000"])
        #expect(try sandbox.berth("run", "-d", "--bundle", bundle, "force-del").succeeded)
        let pid = try #require(try sandbox.state("force-del").pid)
        #expect(try sandbox.berth("delete", "--force", "force-del").succeeded)
        #expect(!ProcFS.isRunning(pid: pid, startTime: nil))
        #expect(TestHost.cgroupDirectories(containing: "berth/force-del").isEmpty)
        #expect(!FileSystem.exists(sandbox.stateRoot + "/force-del"))
    }

    @Test("pause freezes every process and resume thaws them")
    func pauseResume() throws {
        let sandbox = try Sandbox("pause")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /count; sleep 0.02; done"])
        #expect(try sandbox.berth("run", "-d", "--bundle", bundle, "pause-me").succeeded)
        try waitUntil { FileSystem.exists(bundle + "/rootfs/count") }
        #expect(try sandbox.berth("pause", "pause-me").succeeded)
        #expect(try sandbox.state("pause-me").status == .paused)
        let frozen = try FileSystem.readString(bundle + "/rootfs/count")
        usleep(300_000)
        #expect(try FileSystem.readString(bundle + "/rootfs/count") == frozen)
        #expect(try sandbox.berth("resume", "pause-me").succeeded)
        #expect(try sandbox.state("pause-me").status == .running)
        try waitUntil { (try? FileSystem.readString(bundle + "/rootfs/count")) != frozen }
        #expect(try sandbox.berth("resume", "pause-me").err == "berth: cannot resume container \"pause-me\": it is running, not paused")
    }

    @Test("two creates with the same id: exactly one wins")
    func duplicateIDs() throws {
        let sandbox = try Sandbox("dup")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["sleep", "1000"])
        // A deleted container leaves its emptied directory as the spare: the creates race for
        // it too.
        #expect(try sandbox.berth("run", "--bundle", try sandbox.bundle(["true"], name: "before"), "before").succeeded)
        #expect(FileSystem.exists(sandbox.stateRoot + "/#spare"))
        let results = try (0..<4).map { _ in
            try ChildProcess(path: TestHost.berthBinary, arguments: [TestHost.berthBinary, "--root", sandbox.stateRoot, "create", "--bundle", bundle, "dup-same"]).spawn(stdout: -1, stderr: -1)
        }.map { try $0.wait()! }
        #expect(results.filter { $0 == .exited(0) }.count == 1)
        #expect(results.filter { $0 == .exited(1) }.count == 3)
        #expect(try sandbox.state("dup-same").status == .created)
    }

    @Test("a deleted container's emptied directory is the next create's; list never shows it")
    func spareDirectory() throws {
        let sandbox = try Sandbox("spare")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["true"])
        let spare = sandbox.stateRoot + "/#spare"
        #expect(try sandbox.berth("run", "--bundle", bundle, "first").succeeded)
        var info = stat()
        #expect(stat(spare, &info) == 0)
        #expect(try FileSystem.listDirectory(spare).isEmpty)
        #expect(try sandbox.berth("list", "--format", "json").out.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
        #expect(try sandbox.berth("create", "--bundle", bundle, "second").succeeded)
        #expect(!FileSystem.exists(spare))
        var taken = stat()
        #expect(stat(sandbox.stateRoot + "/second", &taken) == 0 && taken.st_ino == info.st_ino)
        #expect(try sandbox.state("second").status == .created)
        // With a spare already there, a delete removes the directory instead.
        #expect(try sandbox.berth("run", "--bundle", bundle, "third").succeeded)
        #expect(FileSystem.exists(spare))
        #expect(try sandbox.berth("delete", "--force", "second").succeeded)
        #expect(!FileSystem.exists(sandbox.stateRoot + "/second"))
        #expect(try FileSystem.listDirectory(sandbox.stateRoot) == ["#spare"])
    }

    @Test("spec writes a default config.json that runs, and refuses to overwrite it")
    func specCommand() throws {
        let sandbox = try Sandbox("spec")
        defer { sandbox.cleanUp() }
        #expect(try sandbox.berth("spec", "--bundle", sandbox.directory).succeeded)
        let spec = try OCIJSON.load(Spec.self, path: sandbox.directory + "/config.json", source: "config.json")
        #expect(spec.process?.args == ["sh"])
        #expect(spec.root?.path == "rootfs")
        let again = try sandbox.berth("spec", "--bundle", sandbox.directory)
        #expect(again.err == "berth: spec: \(sandbox.directory)/config.json exists: remove it first")
    }

    @Test("features lists what this build supports")
    func features() throws {
        let sandbox = try Sandbox("features")
        defer { sandbox.cleanUp() }
        let output = try sandbox.berth("features")
        let features = try OCIJSON.decode(Features.self, from: Data(output.standardOutput), source: "features")
        let namespaces = Set(features.linux?.namespaces ?? [])
        #expect(namespaces.isSuperset(of: ["pid", "mount", "network", "user", "cgroup", "uts", "ipc"]))
        #expect(features.linux?.capabilities?.contains("CAP_SYS_ADMIN") == true)
        #expect(features.hooks?.contains("createContainer") == true)
        #expect(features.linux?.seccomp?.enabled == true)
    }
}

/// Polls `condition` until it holds, for at most 60 s (a bound against hangs on a loaded CI
/// machine, not a timing claim: it returns as soon as the condition holds).
func waitUntil(_ what: String = "condition", _ condition: () throws -> Bool) throws {
    let deadline = ContinuousClock.now + .seconds(60)
    while ContinuousClock.now < deadline {
        if try condition() { return }
        usleep(20_000)
    }
    Issue.record("timed out waiting for \(what)")
}
