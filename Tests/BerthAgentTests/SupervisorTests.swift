import BerthLinux
import BerthOCI
import BerthTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// berth-supervisor run as berthd runs it, over real containers made by the real berth.
@Suite("SupervisorTests")
struct SupervisorTests {
    /// What berthd expects in a task dir once the supervisor is done (no temp files left; no
    /// runtime.log either: berth makes its --log file only when it has something to say).
    static let finishedTaskFiles: Set<String> = ["supervisor.json", "started", "exit.json", "init.pid", "stdout", "stderr"]

    @Test("the init's exit code is recorded and stdout and stderr land in separate files",
          .enabled(if: SupervisorHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
    func exitCodeAndStreams() throws {
        let task = try SupervisedTask("exit", arguments: ["sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 7"])
        defer { task.cleanUp() }
        let before = Date().timeIntervalSince1970
        let launch = try task.launch()
        #expect(launch.status == .exited(0), "\(launch.standardErrorText)")
        #expect(launch.standardOutput.isEmpty && launch.standardError.isEmpty)

        let exit = try task.waitForExit()
        #expect(exit.containerId == task.id)
        #expect(exit.phase == "run")
        #expect(exit.exitCode == 7)
        #expect(exit.signal == nil)
        #expect(exit.message == nil)
        #expect(exit.finishedAt >= before.rounded(.down) && exit.finishedAt <= Date().timeIntervalSince1970 + 1)
        #expect(task.file("stdout") == "to-stdout\n")
        #expect(task.file("stderr") == "to-stderr\n")
        var info = stat()
        #expect(stat(task.taskDir + "/stdout", &info) == 0 && info.st_mode & 0o777 == 0o640)
        #expect(SupervisorHost.eventually { !task.supervisorIsRunning() }, "the supervisor exits after exit.json")
        let files = Set(try FileSystem.listDirectory(task.taskDir))
        #expect(files == Self.finishedTaskFiles)
        // `started` tells berthd (by inotify) that start succeeded, and names the init.
        struct Started: Decodable { var initPid: Int32 }
        let started = try OCIJSON.decode(Started.self, from: Data(try FileSystem.readBytes(task.taskDir + "/started")),
                                         source: "started", rejectingUnknownFields: true)
        #expect(String(started.initPid) == task.file("init.pid").trimmingCharacters(in: .whitespacesAndNewlines))
        // It never deletes the container: berthd reads its state first.
        #expect(task.containerStatus() == "stopped")
    }

    @Test("a container killed by a signal is recorded with the signal and no exit code",
          .enabled(if: SupervisorHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
    func signalRecorded() throws {
        let task = try SupervisedTask("signal", arguments: ["sleep", "1000"])
        defer { task.cleanUp() }
        #expect(try task.launch().status == .exited(0))
        #expect(SupervisorHost.eventually { task.containerStatus() == "running" })
        #expect(try task.berth("kill", task.id, "KILL").status == .exited(0))

        let exit = try task.waitForExit()
        #expect(exit.phase == "run")
        #expect(exit.signal == 9)
        #expect(exit.exitCode == nil)
    }

    @Test("rotation keeps at most K old files, each within the size, and nothing inside the window is lost",
          .enabled(if: SupervisorHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
    func rotation() throws {
        // awk writes in large blocks: some single writes are bigger than a whole file.
        let program = #"BEGIN { for (i = 1; i <= 400; i++) printf "line %05d of the rotation test\n", i }"#
        let expected = (1...400).map { String(format: "line %05d of the rotation test\n", $0) }.joined()
        let task = try SupervisedTask("rotate", arguments: ["awk", program])
        defer { task.cleanUp() }
        // Left by an earlier run with a larger --log-keep: beyond K, so removed.
        try FileSystem.writeAtomically(Array("stale".utf8), to: task.taskDir + "/stdout.7")
        #expect(try task.launch(["--log-max-bytes", "1000", "--log-keep", "2"]).status == .exited(0))
        let exit = try task.waitForExit()
        #expect(exit.exitCode == 0)

        let files = try FileSystem.listDirectory(task.taskDir).filter { $0.hasPrefix("stdout") }.sorted()
        #expect(files == ["stdout", "stdout.1", "stdout.2"])
        for name in files {
            #expect(task.file(name).utf8.count <= 1000, "\(name) is past --log-max-bytes")
        }
        #expect(!task.file("stdout.1").isEmpty && !task.file("stdout.2").isEmpty)
        let window = task.file("stdout.2") + task.file("stdout.1") + task.file("stdout")
        #expect(expected.hasSuffix(window), "the kept files are not the end of the output, in order")
        // A file is rotated only when the next write would not fit, so two neighbours always
        // hold more than one file's worth (how much more depends on how the pipe reads split).
        let sizes = ["stdout.2", "stdout.1", "stdout"].map { task.file($0).utf8.count }
        #expect(sizes[0] + sizes[1] > 1000 && sizes[1] + sizes[2] > 1000, "rotated early: \(sizes)")
    }

    @Test("the run's lock passed with --lock-fd is held by the daemon for its life, and by nothing it starts",
          .enabled(if: SupervisorHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
    func lockHeldForLife() throws {
        let task = try SupervisedTask("lock", arguments: ["sleep", "1000"])
        defer { task.cleanUp() }
        let lockPath = task.taskDir + "/supervisor.lock"
        let lock = try #require(try FileLock.tryAcquire(lockPath))
        // As berthd launches it: the lock is ours first, and passed on as fd 3.
        var child = ChildProcess(path: SupervisorHost.supervisorBinary, arguments: task.arguments(["--lock-fd", "3"]))
        child.inheritedDescriptors = [lock.descriptor.rawValue]
        child.timeout = .seconds(30)
        let output = try child.run()
        lock.unlock()
        #expect(output.status == .exited(0), "\(output.standardErrorText)")
        #expect(SupervisorHost.eventually { task.containerStatus() == "running" })
        #expect(try FileLock.tryAcquire(lockPath) == nil, "the supervisor holds the lock")
        let record = try task.supervisor()
        let initPID = task.file("init.pid").trimmingCharacters(in: .whitespacesAndNewlines)
        for pid in [String(record.pid), initPID] {
            let fds = (try? FileSystem.listDirectory("/proc/\(pid)/fd")) ?? []
            let holders = fds.filter { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")) == lockPath }
            #expect(holders.count == (pid == initPID ? 0 : 1), "pid \(pid) has the lock open \(holders.count) times")
        }
        #expect(try task.berth("kill", task.id, "KILL").status == .exited(0))
        _ = try task.waitForExit()
        #expect(SupervisorHost.eventually { !task.supervisorIsRunning() })
        let free = try FileLock.tryAcquire(lockPath)
        #expect(free != nil, "the lock is free once the supervisor has exited")
        free?.unlock()
    }

    /// How far berthd gets before it withdraws a gated launch: nothing, the bundle ("b"), or the
    /// whole go ("bg"); each word once the container is made, or both at once, so that berth
    /// finds the go (or the end) already there when it tells the init to go on.
    enum GateOutcome: String, CaseIterable { case endsAtOnce, endsAfterBundle, endsRightAfterBundle, goes, goesAtOnce }

    @Test("behind --gate-fd berth makes the container at \"b\" and starts its process at \"g\"; EOF before either leaves nothing and no record",
          .enabled(if: SupervisorHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"),
          arguments: GateOutcome.allCases)
    func gate(_ outcome: GateOutcome) throws {
        let task = try SupervisedTask("gate-\(outcome.rawValue.lowercased())", arguments: ["sh", "-c", "echo made"])
        defer { task.cleanUp() }
        let lockPath = task.taskDir + "/supervisor.lock"
        let lock = try #require(try FileLock.tryAcquire(lockPath))
        // As berthd launches it: the run's lock as fd 3, the gate's read end as fd 4.
        let gate = try FileDescriptor.pipe()
        var child = ChildProcess(path: SupervisorHost.supervisorBinary,
                                 arguments: task.arguments(["--lock-fd", "3", "--gate-fd", "4"]))
        child.inheritedDescriptors = [lock.descriptor.rawValue, gate.read.rawValue]
        child.timeout = .seconds(30)
        let output = try child.run()
        lock.unlock()
        gate.read.close()
        #expect(output.status == .exited(0), "\(output.standardErrorText)")
        let record = try task.supervisor()
        #expect(ProcFS.isRunning(pid: record.pid, startTime: record.startTime), "the daemon waits with berth at the gate")
        // Nothing is made while the gate is shut.
        Thread.sleep(forTimeInterval: 0.3)
        #expect(task.containerStatus() == "")
        if outcome == .goesAtOnce || outcome == .endsRightAfterBundle {
            try gate.write.writeAll(Array((outcome == .goesAtOnce ? "bg" : "b").utf8))
        } else if outcome != .endsAtOnce {
            try gate.write.writeAll(Array("b".utf8))
            // The container is made, and its process waits for the second word.
            #expect(SupervisorHost.eventually { task.containerStatus() != "" }, "the container is made at \"b\"")
            Thread.sleep(forTimeInterval: 0.3)
            #expect(!task.exists("init.pid") && task.file("stdout") == "", "its process has not started")
        }
        if outcome == .goes || outcome == .goesAtOnce {
            if outcome == .goes { try gate.write.writeAll(Array("g".utf8)) }
            gate.write.close()
            let exit = try task.waitForExit()
            #expect(exit.phase == "run" && exit.exitCode == 0)
            #expect(task.file("stdout") == "made\n")
            return
        }
        gate.write.close()
        #expect(SupervisorHost.eventually { !ProcFS.isRunning(pid: record.pid, startTime: record.startTime) },
                "the daemon leaves at EOF")
        #expect(task.containerStatus() == "", "nothing of the container is left")
        #expect(TestEnvironment.cgroupDirectories(containing: task.id).isEmpty)
        // Without a record a recovering berthd takes the run for never started.
        #expect(!task.exists("supervisor.json") && !task.exists("exit.json") && !task.exists("init.pid"))
        #expect(task.file("stderr") == "", "a withdrawal is no error of the task's")
        let free = try FileLock.tryAcquire(lockPath)
        #expect(free != nil, "the run's lock is free once the daemon has gone")
        free?.unlock()
    }

    @Test("--gate-fd must be an open pipe other than the lock",
          .enabled(if: SupervisorHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
    func gateRefusals() throws {
        let task = try SupervisedTask("gate-bad", arguments: ["true"])
        defer { task.cleanUp() }
        let notOpen = try task.launch(["--gate-fd", "9"])
        #expect(notOpen.status == .exited(2))
        #expect(notOpen.standardErrorText == "berth-supervisor: --gate-fd: 9 is not an open pipe above stderr\n")
        #expect(try task.launch(["--gate-fd", "x"]).standardErrorText.hasPrefix("berth-supervisor: --gate-fd: \"x\" is not a whole number"))
        #expect(!task.exists("supervisor.json"), "nothing was started")
    }

    @Test("--log-keep 0 truncates in place",
          .enabled(if: SupervisorHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
    func rotationWithoutKeeping() throws {
        let program = #"BEGIN { for (i = 1; i <= 300; i++) printf "entry %05d\n", i }"#
        let expected = (1...300).map { String(format: "entry %05d\n", $0) }.joined()
        let task = try SupervisedTask("keep0", arguments: ["awk", program])
        defer { task.cleanUp() }
        #expect(try task.launch(["--log-max-bytes=500", "--log-keep=0"]).status == .exited(0))
        #expect(try task.waitForExit().exitCode == 0)
        #expect(try FileSystem.listDirectory(task.taskDir).filter { $0.hasPrefix("stdout") } == ["stdout"])
        let kept = task.file("stdout")
        #expect(!kept.isEmpty && kept.utf8.count <= 500)
        #expect(expected.hasSuffix(kept))
    }

    @Test("a bad config fails create: phase create with the runtime's own message, nothing left running",
          .enabled(if: SupervisorHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
    func createFailure() throws {
        // The message travels through berth's JSON log into exit.json: make it hostile.
        let hostile = "CAP_\"quote\\back\nline\u{7}bell é 😀"
        let task = try SupervisedTask("badconfig", arguments: ["true"]) { spec in
            spec.process?.capabilities?.bounding?.append(hostile)
        }
        defer { task.cleanUp() }
        #expect(try task.launch().status == .exited(0))
        let exit = try task.waitForExit()
        #expect(exit.phase == "create")
        #expect(exit.exitCode == 1)
        #expect(exit.signal == nil)
        let message = try #require(exit.message)
        #expect(message.contains("process.capabilities.bounding"))
        #expect(message == Self.lastErrorMessage(in: task.file("runtime.log")))
        // The runtime's own stderr is the task's stderr, as with runc under conmon.
        #expect(task.file("stderr").contains("process.capabilities.bounding"))
        #expect(SupervisorHost.eventually { !task.supervisorIsRunning() })
        #expect(task.containerStatus() == "", "create failed: no container may remain")
        #expect(!task.exists("init.pid") && !task.exists("started"))
        #expect(!task.exists(".started.tmp"), "the marker made ahead of time goes with the failure")
    }

    @Test("an init that dies before start fails start: phase start, the runtime's message",
          .enabled(if: SupervisorHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
    func startFailure() throws {
        let task = try SupervisedTask("badstart", arguments: ["sleep", "1000"])
        defer { task.cleanUp() }
        // `berth run --detach` whose init dies between its create and its start (as an OOM kill
        // could): the real berth's create and start with the kill in between, then the clean-up
        // run does after a failed start. No single real run can be made to lose that race.
        let wrapper = task.directory + "/berth-killing-init"
        let script = """
            #!/usr/bin/python3
            import os, signal, subprocess, sys
            berth = "\(SupervisorHost.berthBinary)"
            arguments = sys.argv[1:]
            at = arguments.index("run")
            options, rest = arguments[:at], [a for a in arguments[at + 1:] if a != "--detach"]
            created = subprocess.run([berth] + options + ["create"] + rest)
            if created.returncode != 0:
                sys.exit(created.returncode)
            os.kill(int(open("\(task.taskDir)/init.pid").read()), signal.SIGKILL)
            started = subprocess.run([berth] + options + ["start", rest[-1]])
            subprocess.run([berth] + options + ["delete", "--force", rest[-1]])
            sys.exit(started.returncode)

            """
        try FileSystem.writeAtomically(Array(script.utf8), to: wrapper, mode: 0o755)
        #expect(try task.launch(berth: wrapper).status == .exited(0))
        let exit = try task.waitForExit()
        #expect(exit.phase == "start")
        #expect(exit.exitCode == 1)
        let message = try #require(exit.message)
        #expect(message == Self.lastErrorMessage(in: task.file("runtime.log")))
        #expect(!task.exists("started") && !task.exists(".started.tmp"))
        #expect(SupervisorHost.eventually { !task.supervisorIsRunning() })
        #expect(task.containerStatus() == "", "run removes a container whose start failed")
    }

    @Test("supervisor.json names the daemon, which is not our child, ignores SIGTERM and stays small",
          .enabled(if: SupervisorHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
    func daemonRecord() throws {
        let task = try SupervisedTask("daemon", arguments: ["sleep", "1000"])
        defer { task.cleanUp() }
        #expect(try task.launch().status == .exited(0))
        let record = try task.supervisor()
        #expect(record.containerId == task.id)
        #expect(ProcFS.startTime(of: record.pid) == record.startTime)
        #expect(ProcFS.isRunning(pid: record.pid, startTime: record.startTime))
        #expect(SupervisorHost.statusField("PPid", of: record.pid) != Int(getpid()))
        // Its own session: berthd's terminal or process group cannot take it down.
        #expect(getsid(record.pid) == record.pid)
        #expect(SupervisorHost.eventually { task.containerStatus() == "running" })
        // The container runs before `berth run` has returned; until `started` is written the
        // supervisor may briefly hold init.pid, /proc/PID/stat or .started.tmp open.
        #expect(SupervisorHost.eventually { task.exists("started") })

        // It holds no fd but /dev/null, its task dir, its logs, the two pipes and a signalfd.
        let fds = try FileSystem.listDirectory("/proc/\(record.pid)/fd")
        let targets = fds.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(record.pid)/fd/\($0)") }
        let unexpected = targets.filter {
            !($0 == "/dev/null" || $0 == task.taskDir || $0 == task.taskDir + "/stdout" || $0 == task.taskDir + "/stderr"
              || $0.hasPrefix("pipe:") || $0 == "anon_inode:[signalfd]")
        }
        #expect(unexpected.isEmpty, "unexpected fds: \(unexpected)")
        #expect(targets.filter { $0.hasPrefix("pipe:") }.count == 2)

        let rss = try #require(SupervisorHost.statusField("VmRSS", of: record.pid))
        let anonymous = try #require(SupervisorHost.statusField("RssAnon", of: record.pid))
        print("berth-supervisor while its task runs: VmRSS \(rss) kB, RssAnon \(anonymous) kB")
        // Private memory is what each supervisor costs; VmRSS (goal: under 2 MiB) also counts
        // shared libc and libswiftCore pages and varies with the kernel's fault-around, so it
        // is reported, not asserted.
        #expect(anonymous < 1024, "private memory of one supervisor: \(anonymous) kB")

        // berthd's signals are not for it.
        for signal in [SIGTERM, SIGHUP, SIGINT, SIGPIPE] {
            #expect(kill(record.pid, signal) == 0)
        }
        // (SIGKILL: a pid-namespace init without handlers ignores SIGTERM from outside.)
        #expect(try task.berth("kill", task.id, "KILL").status == .exited(0))
        // Having survived them, it records the container's end.
        let exit = try task.waitForExit()
        #expect(exit.signal == 9)
        #expect(SupervisorHost.eventually { !task.supervisorIsRunning() })
    }

    @Test("the supervisor alone keeps the task's output flowing into its files",
          .enabled(if: SupervisorHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
    func logsWithNothingElseRunning() throws {
        // Far more than a pipe holds: the task would block if nobody read its stdout.
        let script = "yes 0123456789abcdef | head -c 3000000; for i in 1 2 3 4 5; do echo tick $i; sleep 0.1; done; echo done >&2"
        let task = try SupervisedTask("flow", arguments: ["sh", "-c", script])
        defer { task.cleanUp() }
        #expect(try task.launch().status == .exited(0))
        // The launcher is gone; no berthd runs; the test only waits.
        let exit = try task.waitForExit(timeout: .seconds(120))
        #expect(exit.exitCode == 0)
        let bulk = String(String(repeating: "0123456789abcdef\n", count: 3_000_000 / 17 + 1).utf8.prefix(3_000_000))!
        let expected = bulk + (1...5).map { "tick \($0)\n" }.joined()
        let stdout = task.file("stdout")
        #expect(stdout.utf8.count == expected.utf8.count)
        #expect(stdout == expected)
        #expect(task.file("stderr") == "done\n")
    }

    @Test("a process left holding the container's stdout does not hold up exit.json",
          .enabled(if: SupervisorHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
    func strayPipeHolder() throws {
        // Without a pid namespace nothing kills the background sleep when the init exits, and it
        // keeps the stdout pipe open: the supervisor must stop draining on its own.
        let task = try SupervisedTask("stray", arguments: ["sh", "-c", "sleep 1000 & echo $!; exit 3"]) { spec in
            spec.linux?.namespaces?.removeAll { $0.type == "pid" }
        }
        defer { task.cleanUp() }
        #expect(try task.launch().status == .exited(0))
        let exit = try task.waitForExit()
        #expect(exit.phase == "run")
        #expect(exit.exitCode == 3)
        let stray = try #require(pid_t(task.file("stdout").trimmingCharacters(in: .whitespacesAndNewlines)))
        let handle = try ProcessHandle.open(pid: stray)
        defer {
            try? handle.signal(SIGKILL)
            handle.close()
        }
        #expect(try FileSystem.readString("/proc/\(stray)/cmdline").hasPrefix("sleep"), "the holder still runs")
        #expect(SupervisorHost.eventually { !task.supervisorIsRunning() })
    }

    @Test("no fd of the supervisor reaches the runtime or the container: only stdin, stdout and stderr",
          .enabled(if: SupervisorHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
    func noFDLeaks() throws {
        // The init (pid 1 inside) stays a shell while ls looks at its fds.
        let task = try SupervisedTask("fds", arguments: ["sh", "-c", "ls -l /proc/1/fd; true"])
        defer { task.cleanUp() }
        // berth closes stray fds itself, so look one step earlier too: what the runtime commands
        // get from the supervisor, recorded by a wrapper before it execs the real berth.
        let wrapper = task.directory + "/berth-recording-fds"
        let script = """
            #!/usr/bin/python3
            import json, os, sys
            names = os.listdir("/proc/self/fd")   # its own fd for the listing is closed by now
            fds = {}
            for name in names:
                try:
                    fds[name] = os.readlink("/proc/self/fd/" + name)
                except OSError:
                    pass
            command = next(a for a in sys.argv[1:] if a in ("create", "start", "run"))
            with open("\(task.directory)/fds-" + command + ".json", "w") as record:
                json.dump(fds, record)
            with open("\(task.directory)/commands", "a") as commands:
                commands.write(" ".join(a for a in sys.argv[1:] if a in ("create", "start", "run", "--detach")) + "\\n")
            os.execv("\(SupervisorHost.berthBinary)", sys.argv)

            """
        try FileSystem.writeAtomically(Array(script.utf8), to: wrapper, mode: 0o755)
        #expect(try task.launch(berth: wrapper).status == .exited(0))
        #expect(try task.waitForExit().exitCode == 0)
        // The runtime runs once per task (create and start in one process), detached.
        #expect((try? FileSystem.readString(task.directory + "/commands")) == "run --detach\n")
        let record = try FileSystem.readBytes(task.directory + "/fds-run.json")
        let fds = try #require(try JSONSerialization.jsonObject(with: Data(record)) as? [String: String])
        #expect(Set(fds.keys) == ["0", "1", "2"], "berth run got \(fds)")
        #expect(fds["0"] == "/dev/null")
        // Its own stdout and stderr are the task's, as the container's are.
        #expect(fds["1"]?.hasPrefix("pipe:") == true && fds["2"]?.hasPrefix("pipe:") == true && fds["1"] != fds["2"])
        var open: [String: String] = [:]
        for line in task.file("stdout").split(separator: "\n") {
            let words = line.split(separator: " ")
            if let arrow = words.firstIndex(of: "->"), arrow > 0, arrow + 1 < words.count {
                open[String(words[arrow - 1])] = String(words[arrow + 1])
            }
        }
        #expect(Set(open.keys) == ["0", "1", "2"], "the init's fds: \(open)")
        #expect(open["0"] == "/dev/null")
        #expect(open["1"]?.hasPrefix("pipe:") == true && open["2"]?.hasPrefix("pipe:") == true)
        #expect(open["1"] != open["2"])
    }

    @Test("bad arguments: exit status 2 and one line naming the flag", arguments: [
        ([] as [String], "--task-dir"),
        (["--frobnicate", "x"], "--frobnicate"),
        (["@valid", "--log-max-bytes", "10k"], "--log-max-bytes"),
        (["@valid", "--log-max-bytes", "0"], "--log-max-bytes"),
        (["@valid", "--log-max-bytes", "99999999999999999999999"], "--log-max-bytes"),
        (["@valid", "--log-keep", "-1"], "--log-keep"),
        (["@valid", "--log-keep"], "--log-keep"),
        (["@valid", "--task-dir", "/elsewhere"], "--task-dir"),
        (["@container-id", "../escape"], "--container-id"),
        (["@container-id", "-rf"], "--container-id"),
        (["@container-id", "a\"b"], "--container-id"),
        (["@task-dir", "relative/dir"], "--task-dir"),
        (["@task-dir", "/nonexistent/berth-task"], "--task-dir"),
        (["@berth", "/proc/version"], "--berth"),   // a regular file without x bits
        (["@bundle", "/nonexistent/bundle"], "--bundle"),
        (["@drop", "--runtime-root"], "--runtime-root"),
        (["@valid", "stray"], "stray"),
    ])
    func badArguments(arguments: [String], flag: String) throws {
        let directory = try SupervisorHost.temporaryDirectory("supervisor-args")
        defer { _ = try? SupervisorHost.run(["/bin/rm", "-rf", directory]) }
        var valid: [String: String] = [
            "--task-dir": directory, "--berth": SupervisorHost.berthBinary, "--runtime-root": directory + "/runtime",
            "--bundle": directory, "--container-id": "args-test",
        ]
        var extra = arguments
        if let first = extra.first, first.hasPrefix("@") {
            extra.removeFirst()
            switch first {
            case "@valid": break
            case "@drop": valid[extra.removeFirst()] = nil
            default: valid["--" + first.dropFirst()] = extra.removeFirst()
            }
        } else {
            valid = [:]
        }
        let order = ["--task-dir", "--berth", "--runtime-root", "--bundle", "--container-id"]
        let line = [SupervisorHost.supervisorBinary] + order.flatMap { name in valid[name].map { [name, $0] } ?? [] } + extra
        let output = try SupervisorHost.run(line)
        #expect(output.status == .exited(2), "\(line)")
        let error = output.standardErrorText
        #expect(error.hasPrefix("berth-supervisor: "))
        #expect(error.contains(flag), "\(error)")
        #expect(error.filter { $0 == "\n" }.count == 1, "one line: \(error)")
        #expect(!FileSystem.exists(directory + "/supervisor.json"))
    }

    /// The "msg" of the last line of a JSON-lines log whose level is "error".
    static func lastErrorMessage(in log: String) -> String? {
        for line in log.split(separator: "\n").reversed() {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            if object["level"] as? String == "error", let message = object["msg"] as? String { return message }
        }
        return nil
    }
}
