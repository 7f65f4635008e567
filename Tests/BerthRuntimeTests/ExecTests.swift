import BerthLinux
import BerthOCI
import Foundation
import Testing

@Suite("exec into a running container", .enabled(if: TestHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct ExecTests {
    @Test("exec runs in the container's namespaces and cgroup, and passes its exit status")
    func execBasics() throws {
        let sandbox = try Sandbox("exec")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["sleep", "1000"]) { $0.hostname = "exec-host" }
        #expect(try sandbox.berth("run", "-d", "--bundle", bundle, "exec-box").succeeded)
        // Counted by name below: wait for the init's exec.
        try sandbox.waitForInit("exec-box", toRun: "sleep")
        let output = try sandbox.berth("exec", "--env", "EXTRA=1", "--cwd", "/tmp", "exec-box", "sh", "-c", "hostname; pwd; echo $EXTRA; ps -o comm | grep -cx sleep; exit 4")
        #expect(output.status == .exited(4))
        #expect(output.out == "exec-host\n/tmp\n1\n1\n")
        let user = try sandbox.berth("exec", "--user", "1000:1000", "exec-box", "id", "-u")
        #expect(user.out == "1000\n")
        // The exec'd process is in the container's cgroup while it runs.
        let detached = try sandbox.berth("exec", "--detach", "--pid-file", sandbox.directory + "/exec.pid", "exec-box", "sleep", "500")
        #expect(detached.succeeded, "\(detached.err)")
        let pid = try FileSystem.readString(sandbox.directory + "/exec.pid")
        let ps = try sandbox.berth("ps", "--format", "json", "exec-box")
        #expect(ps.out.contains(pid), "\(ps.out) lacks \(pid)")
    }

    @Test("exec --process takes a whole process.json; bad ones are refused with the field")
    func execProcessFile() throws {
        let sandbox = try Sandbox("execp")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["sleep", "1000"])
        #expect(try sandbox.berth("run", "-d", "--bundle", bundle, "execp-box").succeeded)
        let processFile = sandbox.directory + "/process.json"
        try FileSystem.writeAtomically(Array(#"{"args": ["sh", "-c", "echo $A; id -u"], "env": ["A=from-file"], "cwd": "/", "user": {"uid": 1000, "gid": 1000}}"#.utf8), to: processFile)
        let output = try sandbox.berth("exec", "--process", processFile, "execp-box")
        #expect(output.succeeded, "\(output.err)")
        #expect(output.out == "from-file\n1000\n")
        try FileSystem.writeAtomically(Array(#"{"args": ["true"], "cwd": "relative", "user": {"uid": 0, "gid": 0}}"#.utf8), to: processFile)
        #expect(try sandbox.berth("exec", "--process", processFile, "execp-box").err == "berth: process.json: cwd: must be an absolute path, got \"relative\"")
        #expect(try sandbox.berth("exec", "execp-box", "no-such-thing").err == "berth: exec: process.args[0]: executable \"no-such-thing\" not found in PATH: No such file or directory")
    }

    @Test("exec into a stopped container is refused")
    func execStopped() throws {
        let sandbox = try Sandbox("execs")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["true"])
        #expect(try sandbox.berth("run", "--keep", "--bundle", bundle, "execs-box").succeeded)
        #expect(try sandbox.berth("exec", "execs-box", "true").err == "berth: cannot exec in container \"execs-box\": it is stopped")
    }
}
