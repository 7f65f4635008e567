import BerthLinux
import Foundation
import Testing

/// podman drives berth exactly as it drives runc (create --bundle --pid-file [--console-socket],
/// start, kill, delete --force).
@Suite("podman --runtime berth", .serialized, .enabled(if: TestHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct PodmanTests {
    static let image = "localhost/berth-test-busybox:latest"
    // podman's default limits exceed this machine's hard limits.
    static let limits = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096"]

    /// Imports the busybox rootfs into podman's store once.
    static func prepareImage() throws {
        if (try? TestHost.run(["/usr/bin/podman", "image", "exists", image]))?.succeeded == true { return }
        let directory = try TestHost.temporaryDirectory("podman-image")
        defer { _ = try? TestHost.run(["/bin/rm", "-rf", directory]) }
        try TestHost.run(["/bin/tar", "-C", TestHost.rootfs, "-cf", directory + "/rootfs.tar", "."])
        let imported = try TestHost.run(["/usr/bin/podman", "import", directory + "/rootfs.tar", image], timeout: .seconds(120))
        guard imported.succeeded else { throw RuntimeFailure("podman import: \(imported.err)") }
    }

    func podman(_ arguments: [String]) throws -> ChildProcess.Output {
        try TestHost.run(["/usr/bin/podman", "--runtime", TestHost.berthBinary] + arguments, timeout: .seconds(120))
    }

    @Test("podman run --rm works through berth, and the exit status comes back")
    func podmanRun() throws {
        try Self.prepareImage()
        let output = try podman(["run", "--rm", "--network", "none"] + Self.limits + [Self.image, "sh", "-c", "echo hello-from-berth; echo pid $$; exit 5"])
        #expect(output.status == .exited(5), "\(output.err)")
        #expect(output.out == "hello-from-berth\npid 1\n")
    }

    @Test("podman run -t gets a terminal through --console-socket")
    func podmanTerminal() throws {
        try Self.prepareImage()
        let output = try podman(["run", "--rm", "-t", "--network", "none"] + Self.limits + [Self.image, "sh", "-c", "tty; echo done"])
        #expect(output.succeeded, "\(output.err)")
        #expect(output.out.contains("/dev/pts/0"))
        #expect(output.out.contains("done"))
    }

    @Test("podman stop and rm of a detached container")
    func podmanDetached() throws {
        try Self.prepareImage()
        let started = try podman(["run", "-d", "--network", "none"] + Self.limits + [Self.image, "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"])
        #expect(started.succeeded, "\(started.err)")
        let id = started.out.trimmingCharacters(in: " \n")
        defer { _ = try? podman(["rm", "-f", id]) }
        let inspect = try podman(["inspect", "--format", "{{.State.Status}}", id])
        #expect(inspect.out == "running\n")
        // The init of a pid namespace ignores a TERM it has no handler for: stop only once the
        // shell's trap is set (SigCgt in its status), or it would take the SIGKILL after -t.
        let pid = try #require(Int32(try podman(["inspect", "--format", "{{.State.Pid}}", id]).out.trimmingCharacters(in: " \n")))
        try waitUntil("the shell's TERM trap") { Self.catches(SIGTERM, pid: pid) }
        #expect(try podman(["stop", "-t", "5", id]).succeeded)
        #expect(try podman(["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", id]).out == "exited 0\n")
        #expect(try podman(["rm", id]).succeeded)
    }
}

extension PodmanTests {
    /// Whether process `pid` has a handler for `signal` (the SigCgt mask of /proc/PID/status).
    static func catches(_ signal: Int32, pid: Int32) -> Bool {
        guard let status = try? FileSystem.readString("/proc/\(pid)/status"),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }),
              let mask = UInt64(String(line.dropFirst("SigCgt:".count)).trimmingCharacters(in: "\t "), radix: 16) else { return false }
        return mask & (1 << UInt64(signal - 1)) != 0
    }
}

struct RuntimeFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
