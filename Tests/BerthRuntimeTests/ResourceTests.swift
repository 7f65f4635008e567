import BerthLinux
import BerthOCI
import Foundation
import Testing

/// Limits enforced by the kernel, seen from inside real containers; `update`, `events`, the
/// `oomKilled` state field and the cgroup sweep.
@Suite("Resource limits, update, events and OOM", .enabled(if: TestHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct ResourceTests {
    static func uniqueID(_ label: String) -> String { "res-\(label)-\(UUID().uuidString.prefix(8).lowercased())" }

    static func json(_ text: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try #require(object as? [String: Any])
    }

    /// `berth events --stats` as a dictionary.
    static func stats(_ sandbox: Sandbox, _ id: String) throws -> [String: Any] {
        let output = try sandbox.berth("events", "--stats", id)
        #expect(output.succeeded, "\(output.err)")
        let event = try json(output.out)
        #expect(event["type"] as? String == "stats")
        #expect(event["id"] as? String == id)
        return try #require(event["data"] as? [String: Any])
    }

    static func number(_ object: [String: Any], _ path: String...) -> UInt64? {
        var current: Any? = object
        for key in path { current = (current as? [String: Any])?[key] }
        return (current as? NSNumber)?.uint64Value
    }

    static func pidsMaxFile(_ id: String) throws -> String {
        let dirs = TestHost.cgroupDirectories(containing: id).filter { $0.hasPrefix("/sys/fs/cgroup/pids/") || FileSystem.exists($0 + "/pids.max") }
        let dir = try #require(dirs.first { FileSystem.exists($0 + "/pids.max") })
        return dir + "/pids.max"
    }

    /// The hierarchies of /proc/PID/cgroup that hold `pid` somewhere other than `cgroupPath`
    /// (named v1 hierarchies such as name=systemd carry no controller and are not berth's).
    static func hierarchiesElsewhere(pid: String, cgroupPath: String) throws -> [String] {
        let lines = try FileSystem.readString("/proc/\(pid)/cgroup").split(separator: "\n")
        return lines.map(String.init).filter { line in
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, !fields[1].hasPrefix("name=") else { return false }
            return !fields[2].hasSuffix(cgroupPath)
        }
    }

    @Test("the init and an exec'd process start inside the container's cgroup in every hierarchy")
    func processesStartInTheirCgroup() throws {
        let sandbox = try Sandbox("entry")
        defer { sandbox.cleanUp() }
        let id = Self.uniqueID("entry")
        let bundle = try sandbox.bundle(["sleep", "1000"], name: id)
        #expect(try sandbox.berth("create", "--bundle", bundle, "--pid-file", sandbox.directory + "/init.pid", id).succeeded)
        // Still blocked before exec: it entered its cgroups on its own, as its first step.
        let initPID = try FileSystem.readString(sandbox.directory + "/init.pid")
        #expect(try Self.hierarchiesElsewhere(pid: initPID, cgroupPath: "/berth/" + id) == [])
        #expect(try sandbox.berth("start", id).succeeded)
        let exec = try sandbox.berth("exec", "--detach", "--pid-file", sandbox.directory + "/exec.pid", id, "sleep", "500")
        #expect(exec.succeeded, "\(exec.err)")
        let execPID = try FileSystem.readString(sandbox.directory + "/exec.pid")
        #expect(try Self.hierarchiesElsewhere(pid: execPID, cgroupPath: "/berth/" + id) == [])
        #expect(try sandbox.berth("delete", "--force", id).succeeded)
        #expect(TestHost.cgroupDirectories(containing: id).isEmpty)
    }

    @Test("a container over its memory limit is OOM-killed, exits 137 and state says oomKilled")
    func oomKill() throws {
        let sandbox = try Sandbox("oom")
        defer { sandbox.cleanUp() }
        let id = Self.uniqueID("oom")
        let bundle = try sandbox.bundle(["sh", "-c", "x=$(head -c 100000000 /dev/zero | tr \"\\0\" a); echo survived"]) {
            $0.linux?.resources = Spec.Resources(memory: .init(limit: 32 << 20, swap: 32 << 20))
        }
        let output = try sandbox.berth("run", "--keep", "--bundle", bundle, id, timeout: .seconds(120))
        #expect(output.status == .exited(137), "\(output.status) \(output.out) \(output.err)")
        #expect(!output.out.contains("survived"))
        let state = try Self.json(try sandbox.berth("state", id).out)
        #expect(state["oomKilled"] as? Bool == true)
        #expect(state["status"] as? String == "stopped")
        #expect(state["id"] as? String == id)
        #expect(try sandbox.berth("delete", id).succeeded)
        #expect(TestHost.cgroupDirectories(containing: id).isEmpty)
    }

    @Test("a container that stays under its limit has no oomKilled field")
    func noOOM() throws {
        let sandbox = try Sandbox("nooom")
        defer { sandbox.cleanUp() }
        let id = Self.uniqueID("nooom")
        let bundle = try sandbox.bundle(["true"]) { $0.linux?.resources = Spec.Resources(memory: .init(limit: 32 << 20)) }
        #expect(try sandbox.berth("run", "--keep", "--bundle", bundle, id).succeeded)
        let state = try Self.json(try sandbox.berth("state", id).out)
        #expect(state["oomKilled"] == nil)
        #expect(try sandbox.berth("delete", id).succeeded)
    }

    @Test("events streams an oom event and ends with the container")
    func oomEvent() throws {
        let sandbox = try Sandbox("oomev")
        defer { sandbox.cleanUp() }
        let id = Self.uniqueID("oomev")
        let bundle = try sandbox.bundle(["sh", "-c", "until [ -e /go ]; do sleep 0.1; done; x=$(head -c 100000000 /dev/zero | tr \"\\0\" a); echo survived"]) {
            $0.linux?.resources = Spec.Resources(memory: .init(limit: 32 << 20, swap: 32 << 20))
        }
        #expect(try sandbox.berth("run", "-d", "--keep", "--bundle", bundle, id).succeeded)
        // An OOM before the stream counted the kills so far would not be on it: the container
        // fills its memory only once the stream has printed its first stats (slow machines
        // start `events` late).
        let output = sandbox.directory + "/events.out"
        let script = """
            \(TestHost.berthBinary) --root \(sandbox.stateRoot) events --interval 500ms \(id) > \(output) &
            pid=$!
            i=0
            until [ -s \(output) ]; do i=$((i+1)); [ $i -gt 2400 ] && break; sleep 0.05; done
            touch \(bundle)/rootfs/go
            wait $pid
            """
        let events = try TestHost.run(["/bin/sh", "-c", script], timeout: .seconds(180))
        #expect(events.succeeded, "\(events.err)")
        let lines = try FileSystem.readString(output).split(separator: "\n").map(String.init)
        let types = try lines.map { try Self.json($0)["type"] as? String }
        #expect(types.contains("oom"), "\(lines)")
        #expect(try sandbox.state(id).status == .stopped)
        #expect(try sandbox.berth("delete", id).succeeded)
    }

    @Test("events ends when the container does, without waiting for the next stats, and reports no OOM")
    func eventsEndWithTheContainer() throws {
        let sandbox = try Sandbox("evend")
        defer { sandbox.cleanUp() }
        let id = Self.uniqueID("evend")
        let bundle = try sandbox.bundle(["sh", "-c", "until [ -e /go ]; do sleep 0.1; done"]) {
            $0.linux?.resources = Spec.Resources(memory: .init(limit: 32 << 20))
        }
        #expect(try sandbox.berth("run", "-d", "--keep", "--bundle", bundle, id).succeeded)
        // An hour between stats: only the container's end can finish the stream. The container
        // is told to end once the stream holds its init's pidfd (slow machines start late).
        let script = """
            \(TestHost.berthBinary) --root \(sandbox.stateRoot) events --interval 1h \(id) &
            pid=$!
            i=0
            until ls -l /proc/$pid/fd 2>/dev/null | grep -q pidfd; do i=$((i+1)); [ $i -gt 2400 ] && break; sleep 0.05; done
            touch \(bundle)/rootfs/go
            wait $pid
            """
        let events = try TestHost.run(["/bin/sh", "-c", script], timeout: .seconds(180))
        #expect(events.succeeded, "\(events.err)")
        #expect(events.out.isEmpty, "\(events.out)")
        #expect(try sandbox.state(id).status == .stopped)
        #expect(try sandbox.berth("delete", id).succeeded)
        #expect(TestHost.cgroupDirectories(containing: id).isEmpty)
    }

    @Test("a pids limit makes fork fail inside the container")
    func pidsLimit() throws {
        let sandbox = try Sandbox("pids")
        defer { sandbox.cleanUp() }
        let id = Self.uniqueID("pids")
        let bundle = try sandbox.bundle(["sh", "-c", "for i in $(seq 20); do sleep 2 & done; wait"]) {
            $0.linux?.resources = Spec.Resources(pids: .init(limit: 10))
        }
        let output = try sandbox.run(bundle, id: id)
        let text = output.out + output.err
        #expect(text.contains("fork") || text.contains("Resource temporarily unavailable"), "\(text)")
        #expect(TestHost.cgroupDirectories(containing: id).isEmpty)
    }

    @Test("a CPU quota of 0.2 CPU holds a busy loop near 0.2 CPU-seconds per second")
    func cpuQuota() throws {
        let sandbox = try Sandbox("cpu")
        defer { sandbox.cleanUp() }
        let id = Self.uniqueID("cpu")
        let bundle = try sandbox.bundle(["sh", "-c", "while :; do :; done"]) {
            $0.linux?.resources = Spec.Resources(cpu: .init(quota: 20000, period: 100000))
        }
        #expect(try sandbox.berth("run", "-d", "--bundle", bundle, id).succeeded)
        // Let the first period's burst pass.
        Thread.sleep(forTimeInterval: 0.5)
        // Each reading happens somewhere inside its `berth events --stats` run, which is slow on
        // a loaded machine: the CPU time between them was spent in at least the time between the
        // two runs and at most the time from the start of the first to the end of the second.
        let clock = ContinuousClock()
        func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
        let firstStarted = clock.now
        let before = try #require(Self.number(try Self.stats(sandbox, id), "cpu", "usage", "total"))
        let firstEnded = clock.now
        Thread.sleep(forTimeInterval: 2.5)
        let secondStarted = clock.now
        let after = try #require(Self.number(try Self.stats(sandbox, id), "cpu", "usage", "total"))
        let secondEnded = clock.now
        let used = Double(after - before) / 1e9
        let atMost = used / seconds(secondStarted - firstEnded), atLeast = used / seconds(secondEnded - firstStarted)
        #expect(atLeast < 0.35, "CPU rate at least \(atLeast)")
        #expect(atMost > 0.1, "CPU rate at most \(atMost)")
        let data = try Self.stats(sandbox, id)
        #expect((Self.number(data, "cpu", "throttling", "throttledPeriods") ?? 0) > 0)
        #expect(try sandbox.berth("delete", "--force", id).succeeded)
        #expect(TestHost.cgroupDirectories(containing: id).isEmpty)
    }

    @Test("update changes a running container's pids limit in its cgroup, its behaviour and its record")
    func updatePids() throws {
        let sandbox = try Sandbox("upd")
        defer { sandbox.cleanUp() }
        let id = Self.uniqueID("upd")
        let bundle = try sandbox.bundle(["sleep", "1000"]) { $0.linux?.resources = Spec.Resources(pids: .init(limit: 20)) }
        #expect(try sandbox.berth("run", "-d", "--bundle", bundle, id).succeeded)
        let file = try Self.pidsMaxFile(id)
        #expect(try FileSystem.readString(file).trimmingCharacters(in: .whitespacesAndNewlines) == "20")

        let lower = try sandbox.berth("update", "--pids-limit", "3", id)
        #expect(lower.succeeded, "\(lower.err)")
        #expect(try FileSystem.readString(file).trimmingCharacters(in: .whitespacesAndNewlines) == "3")
        let starved = try sandbox.berth("exec", id, "sh", "-c", "for i in 1 2 3 4 5 6; do sleep 1 & done; wait")
        #expect((starved.out + starved.err).contains("fork") || (starved.out + starved.err).contains("Resource temporarily unavailable"),
                "\(starved.out) \(starved.err)")

        let raise = try sandbox.berth("update", "--pids-limit", "50", id)
        #expect(raise.succeeded, "\(raise.err)")
        #expect(try FileSystem.readString(file).trimmingCharacters(in: .whitespacesAndNewlines) == "50")
        let fed = try sandbox.berth("exec", id, "sh", "-c", "for i in 1 2 3 4 5 6; do sleep 1 & done; wait; echo done")
        #expect(fed.succeeded, "\(fed.err)")
        #expect(fed.out == "done\n")
        #expect(!fed.err.contains("fork"))

        // -r from stdin, as containerd passes it; the record keeps the merged resources.
        let fromStdin = try sandbox.berth("update", "-r", "-", id, input: #"{"memory":{"limit":67108864}}"#)
        #expect(fromStdin.succeeded, "\(fromStdin.err)")
        let record = try Self.json(try FileSystem.readString(sandbox.stateRoot + "/" + id + "/state.json"))
        let resources = (((record["spec"] as? [String: Any])?["linux"] as? [String: Any])?["resources"] as? [String: Any]) ?? [:]
        #expect(Self.number(resources, "pids", "limit") == 50)
        #expect(Self.number(resources, "memory", "limit") == 67_108_864)
        #expect(Self.number(try Self.stats(sandbox, id), "memory", "usage", "limit") == 67_108_864)

        #expect(try sandbox.berth("delete", "--force", id).succeeded)
        #expect(TestHost.cgroupDirectories(containing: id).isEmpty)
    }

    @Test("events --stats prints one JSON object with memory in use")
    func statsOnce() throws {
        let sandbox = try Sandbox("stats")
        defer { sandbox.cleanUp() }
        let id = Self.uniqueID("stats")
        let bundle = try sandbox.bundle(["sleep", "1000"]) { $0.linux?.resources = Spec.Resources(pids: .init(limit: 100)) }
        #expect(try sandbox.berth("run", "-d", "--bundle", bundle, id).succeeded)
        let data = try Self.stats(sandbox, id)
        #expect((Self.number(data, "memory", "usage", "usage") ?? 0) > 0)
        #expect((Self.number(data, "pids", "current") ?? 0) >= 1)
        #expect(Self.number(data, "pids", "limit") == 100)
        #expect(try sandbox.berth("delete", "--force", id).succeeded)
        #expect(TestHost.cgroupDirectories(containing: id).isEmpty)
        // Nothing to report about a container that is gone.
        #expect(try sandbox.berth("events", "--stats", id).status == .exited(1))
    }

    @Test("update refuses bad input in one line naming the field")
    func updateBadInput() throws {
        let sandbox = try Sandbox("updbad")
        defer { sandbox.cleanUp() }
        let id = Self.uniqueID("updbad")
        let bundle = try sandbox.bundle(["sleep", "1000"])
        #expect(try sandbox.berth("run", "-d", "--bundle", bundle, id).succeeded)

        let negative = try sandbox.berth("update", "--memory", "-5", id)
        #expect(negative.status == .exited(1))
        #expect(negative.err.contains("linux.resources.memory.limit"), "\(negative.err)")
        #expect(!negative.err.contains("\n"))

        let badType = try sandbox.berth("update", "-r", "-", id, input: #"{"memory":{"limit":"lots"}}"#)
        #expect(badType.status == .exited(1))
        #expect(badType.err.contains("memory.limit"), "\(badType.err)")
        #expect(!badType.err.contains("\n"))

        let notNumber = try sandbox.berth("update", "--pids-limit", "many", id)
        #expect(notNumber.status == .exited(1))
        #expect(notNumber.err.contains("--pids-limit"), "\(notNumber.err)")

        // Nothing was changed by the refusals.
        let record = try Self.json(try FileSystem.readString(sandbox.stateRoot + "/" + id + "/state.json"))
        let linux = (record["spec"] as? [String: Any])?["linux"] as? [String: Any]
        #expect((linux?["resources"] as? [String: Any])?["memory"] == nil)

        #expect(try sandbox.berth("delete", "--force", id).succeeded)
        let stopped = try sandbox.berth("update", "--pids-limit", "5", id)
        #expect(stopped.status == .exited(1))
    }

    @Test("sweep removes an empty cgroup no container owns and keeps the others")
    func sweep() throws {
        let sandbox = try Sandbox("sweep")
        defer { sandbox.cleanUp() }
        let parent = "berth-sweep-test-\(UUID().uuidString.prefix(8).lowercased())"
        let kept = Self.uniqueID("kept"), orphan = Self.uniqueID("orphan")
        defer {
            // The parent directories berth made for both containers.
            for dir in TestHost.cgroupDirectories(containing: parent).sorted(by: { $0.count > $1.count }) {
                _ = try? TestHost.run(["/bin/rmdir", dir])
            }
        }
        for id in [kept, orphan] {
            let bundle = try sandbox.bundle(["sleep", "1000"], name: id) { $0.linux?.cgroupsPath = parent + "/" + id }
            #expect(try sandbox.berth("run", "-d", "--bundle", bundle, id).succeeded)
        }
        // The orphan loses its state while its cgroup stays: what a crash leaves.
        #expect(try sandbox.berth("kill", orphan, "KILL").succeeded)
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(30)
        while (try? sandbox.state(orphan).status) != .stopped && clock.now < deadline { Thread.sleep(forTimeInterval: 0.05) }
        try TestHost.run(["/bin/rm", "-rf", sandbox.stateRoot + "/" + orphan])
        #expect(!TestHost.cgroupDirectories(containing: orphan).isEmpty)

        let swept = try sandbox.berth("sweep", "--cgroup-parent", parent)
        #expect(swept.succeeded, "\(swept.err)")
        #expect(swept.out == "\(parent)/\(orphan)\n")
        #expect(TestHost.cgroupDirectories(containing: orphan).isEmpty)
        #expect(!TestHost.cgroupDirectories(containing: kept).isEmpty)
        #expect(try sandbox.state(kept).status == .running)

        #expect(try sandbox.berth("delete", "--force", kept).succeeded)
        #expect(TestHost.cgroupDirectories(containing: kept).isEmpty)
    }
}
