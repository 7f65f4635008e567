import BerthLinux
import BerthOCI
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("Bad input: one line naming the field, exit 1, nothing left behind", .enabled(if: TestHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct BadInputTests {
    /// Creates with a broken config and checks the error line and that nothing remains.
    func refuse(_ id: String, _ expected: String, arguments: [String] = ["true"], edit: (inout Spec) -> Void) throws {
        let sandbox = try Sandbox("bad")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(arguments, edit: edit)
        let output = try sandbox.berth("create", "--bundle", bundle, id)
        #expect(output.status == .exited(1))
        #expect(output.err == "berth: " + expected)
        #expect(!output.err.contains("\n"))
        #expect(!FileSystem.exists(sandbox.stateRoot + "/" + id), "state left behind")
        #expect(TestHost.cgroupDirectories(containing: "berth/" + id).isEmpty, "cgroup left behind")
        // Other tests mount things meanwhile: look only for mounts of this test's files.
        #expect(!(try FileSystem.readString("/proc/self/mountinfo")).contains(sandbox.directory), "mount left behind")
        #expect(!(try TestHost.run(["/bin/sh", "-c", "ps -eo args"]).out.contains(bundle)), "process left behind")
    }

    @Test("an unknown capability")
    func unknownCapability() throws {
        try refuse("bad-cap", "config.json: process.capabilities.bounding[3]: unknown capability \"CAP_FOO\"") {
            $0.process?.capabilities?.bounding = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_FOO"]
        }
    }

    @Test("a relative cwd, an unknown rlimit, a duplicate namespace")
    func structuralErrors() throws {
        try refuse("bad-cwd", "config.json: process.cwd: must be an absolute path, got \"tmp\"") { $0.process?.cwd = "tmp" }
        try refuse("bad-rlimit", "config.json: process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"") {
            $0.process?.rlimits = [.init(type: "RLIMIT_FOO", hard: 1, soft: 1)]
        }
        try refuse("bad-ns", "config.json: linux.namespaces[6].type: duplicate namespace \"pid\"") {
            $0.linux?.namespaces?.append(.init(type: "pid"))
        }
    }

    @Test("a program that is not in the rootfs fails at create, naming process.args[0]")
    func missingProgram() throws {
        try refuse("bad-exe", "create: process.args[0]: executable \"no-such-program\" not found in PATH: No such file or directory", arguments: ["no-such-program"]) { _ in }
    }

    @Test("a mount the kernel refuses fails at create, naming the mount")
    func kernelRefusesMount() throws {
        try refuse("bad-mount", "create: mounts[7]: mount nosuchfs on /weird: No such device") {
            $0.mounts?.append(.init(destination: "/weird", type: "nosuchfs", source: "none"))
        }
    }

    @Test("a bind mount of a missing source")
    func missingBindSource() throws {
        try refuse("bad-bind", "config.json: mounts[7].source: /nonexistent/berth: No such file or directory") {
            $0.mounts?.append(.init(destination: "/x", type: "bind", source: "/nonexistent/berth", options: ["bind"]))
        }
    }

    @Test("malformed JSON and wrong types name the place")
    func malformedConfig() throws {
        let sandbox = try Sandbox("json")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["true"])
        try FileSystem.writeAtomically(Array(#"{"ociVersion": "1.2.0", "process": {"user": {"uid": "root"}}}"#.utf8), to: bundle + "/config.json")
        let output = try sandbox.berth("create", "--bundle", bundle, "json-bad")
        #expect(output.status == .exited(1))
        #expect(output.err.hasPrefix("berth: config.json: process.user.uid: "), "\(output.err)")
        #expect(!FileSystem.exists(sandbox.stateRoot + "/json-bad"))
    }

    @Test("an option berth does not support is refused, not ignored")
    func unsupportedOptions() throws {
        let sandbox = try Sandbox("opts")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["true"])
        #expect(try sandbox.berth("create", "--no-pivot", "--bundle", bundle, "np").err == "berth: --no-pivot: not supported by berth: it always uses pivot_root")
        #expect(try sandbox.berth("--systemd-cgroup", "create", "--bundle", bundle, "sd").err.hasPrefix("berth: --systemd-cgroup: not supported by berth"))
        let unknown = try sandbox.berth("create", "--frobnicate", "--bundle", bundle, "u")
        #expect(unknown.status == .exited(1))
        #expect(unknown.err == "berth: Unknown option '--frobnicate'")
        try refuse("bad-apparmor", "config.json: process.apparmorProfile: not supported by berth") {
            $0.process?.apparmorProfile = "docker-default"
        }
    }

    @Test("berth alone, without berth-cli beside it: the lifecycle commands work, any other says which file it needs")
    func withoutTheWholeCommandLine() throws {
        let sandbox = try Sandbox("alone")
        defer { sandbox.cleanUp() }
        let alone = sandbox.directory + "/bin/berth"
        try FileSystem.createDirectory(sandbox.directory + "/bin")
        try TestHost.run(["/bin/cp", TestHost.berthBinary, alone])
        let bundle = try sandbox.bundle(["sh", "-c", "exit 3"])
        let run = try TestHost.run([alone, "--root", sandbox.stateRoot, "run", "--bundle", bundle, "alone"])
        #expect(run.status == .exited(3))
        #expect(run.err.isEmpty)
        let list = try TestHost.run([alone, "--root", sandbox.stateRoot, "list"])
        #expect(list.status == .exited(1))
        #expect(list.err == "berth: cannot run \(sandbox.directory)/bin/berth-cli (the commands other than create, run, start, state, kill and delete): No such file or directory")
        // Beside the real one, the same line is berth-cli's.
        let listed = try sandbox.berth("list", "--format", "json")
        #expect(listed.status == .exited(0))
        #expect(listed.out.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
    }

    @Test("run --gate-fd must name an open fd above stderr and the preserved ones; nothing is made without it")
    func badGate() throws {
        let sandbox = try Sandbox("gate")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["true"])
        for (arguments, value) in [(["--gate-fd", "99"], "99"), (["--gate-fd", "1"], "1"), (["--gate-fd", "x"], "x"),
                                   (["--preserve-fds", "1", "--gate-fd", "3"], "3")] {
            let output = try sandbox.berth(["run", "--bundle", bundle] + arguments + ["gate"])
            #expect(output.status == .exited(1))
            #expect(output.err == "berth: --gate-fd: \"\(value)\" is not an open file descriptor above stderr and --preserve-fds")
            #expect(!FileSystem.exists(sandbox.stateRoot + "/gate"))
        }
    }

    @Test("an invalid container id")
    func invalidID() throws {
        let sandbox = try Sandbox("id")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["true"])
        let output = try sandbox.berth("create", "--bundle", bundle, "../escape")
        #expect(output.err == "berth: invalid container id \"../escape\": use letters, digits and _ + - .")
        #expect(!FileSystem.exists(sandbox.directory + "/escape"))
    }

    @Test("delete --force cleans up after berth itself was killed mid-create")
    func killedMidCreate() throws {
        let sandbox = try Sandbox("midcreate")
        defer { sandbox.cleanUp() }
        let started = sandbox.directory + "/hook-started"
        let bundle = try sandbox.bundle(["true"]) {
            $0.hooks = .init(createRuntime: [.init(path: "/bin/sh", args: ["sh", "-c", "touch \(started); sleep 100"])])
        }
        let berth = try ChildProcess(path: TestHost.berthBinary, arguments: [TestHost.berthBinary, "--root", sandbox.stateRoot, "create", "--bundle", bundle, "mid-create"]).spawn()
        try waitUntil("the hook to start") { FileSystem.exists(started) }
        try berth.signal(SIGKILL)
        _ = try berth.wait()
        let state = try sandbox.state("mid-create")
        #expect(state.status == .stopped || state.status == .creating)
        #expect(try sandbox.berth("delete", "--force", "mid-create").succeeded)
        #expect(!FileSystem.exists(sandbox.stateRoot + "/mid-create"))
        try waitUntil("the cgroup to go") { TestHost.cgroupDirectories(containing: "berth/mid-create").isEmpty }
        try TestHost.run(["/usr/bin/pkill", "-f", started])
    }
}

@Suite("Hostile rootfs contents stay inside the rootfs", .enabled(if: TestHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct RootfsEscapeTests {
    @Test("a mount target behind a symlink pointing out of the rootfs lands inside it")
    func mountTargetSymlink() throws {
        let sandbox = try Sandbox("escape")
        defer { sandbox.cleanUp() }
        let outside = sandbox.directory + "/outside"
        try FileSystem.createDirectory(outside)
        let bundle = try sandbox.bundle(["sh", "-c", "ls /evil/target && echo inside"]) { spec in
            spec.mounts?.append(.init(destination: "/evil/target", type: "tmpfs", source: "tmpfs"))
        }
        // /evil -> the host directory, absolutely and relatively.
        #expect(symlink(outside, bundle + "/rootfs/evil") == 0)
        let output = try sandbox.run(bundle)
        #expect(output.succeeded, "\(output.err)")
        #expect(try FileSystem.listDirectory(outside).isEmpty, "berth created something outside the rootfs")
    }

    @Test("a missing mount target under a symlinked directory is made where the link points in the rootfs")
    func mountTargetUnderSymlinkedDirectory() throws {
        let sandbox = try Sandbox("alias")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["sh", "-c", "grep -q ' /inner/target tmpfs ' /proc/mounts && echo mounted"]) { spec in
            spec.mounts?.append(.init(destination: "/alias/target", type: "tmpfs", source: "tmpfs"))
        }
        // /alias -> /inner, an absolute link that exists only inside the rootfs.
        try FileSystem.createDirectory(bundle + "/rootfs/inner")
        #expect(symlink("/inner", bundle + "/rootfs/alias") == 0)
        #expect(!FileSystem.exists("/inner"))
        let output = try sandbox.run(bundle)
        #expect(output.succeeded, "\(output.err)")
        #expect(output.out.contains("mounted"), "\(output.out)")
        #expect(FileSystem.isDirectory(bundle + "/rootfs/inner/target"))
    }

    @Test("a cwd behind a symlink to .. resolves inside the rootfs")
    func cwdSymlink() throws {
        let sandbox = try Sandbox("cwd")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["pwd"]) { $0.process?.cwd = "/up/up/up/tmp" }
        #expect(symlink("../../../..", bundle + "/rootfs/up") == 0)
        let output = try sandbox.run(bundle)
        #expect(output.succeeded, "\(output.err)")
        #expect(output.out == "/tmp\n")
    }
}
