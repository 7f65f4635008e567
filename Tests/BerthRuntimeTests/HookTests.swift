import BerthLinux
import BerthOCI
import Foundation
import Testing

@Suite("OCI hooks", .enabled(if: TestHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct HookTests {
    /// A hook that appends "<name> <what it saw>" to a log file on the host.
    func hook(_ name: String, log: String, extra: String = "") -> Spec.Hook {
        .init(path: "/bin/sh", args: ["sh", "-c", "state=$(cat); echo \"\(name) $(echo \"$state\" | grep -o '\"status\":\"[a-z]*\"') \(extra)\" >> \(log)"])
    }

    @Test("every hook runs at its point, with the state on stdin, in the right namespace")
    func allHooks() throws {
        let sandbox = try Sandbox("hooks")
        defer { sandbox.cleanUp() }
        let log = sandbox.directory + "/hooks.log"
        let bundle = try sandbox.bundle(["sh", "-c", "echo main >> /main.log"]) { spec in
            spec.hooks = .init(
                prestart: [hook("prestart", log: log)],
                createRuntime: [hook("createRuntime", log: log)],
                // createContainer runs in the container's mount namespace: it sees the
                // container's /proc mount and not yet the pivoted root, so it lists the bundle.
                createContainer: [hook("createContainer", log: log, extra: "$(test -d /proc/self && echo proc)")],
                // startContainer runs inside the container: the log path is the container's.
                startContainer: [.init(path: "/bin/sh", args: ["sh", "-c", "cat > /dev/null; echo startContainer >> /main.log"])],
                poststart: [hook("poststart", log: log)],
                poststop: [hook("poststop", log: log)])
        }
        let output = try sandbox.run(bundle)
        #expect(output.succeeded, "\(output.err)")
        let lines = try FileSystem.readString(log).split(separator: "\n").map(String.init)
        #expect(lines.count == 5, "\(lines)")
        #expect(lines.first?.hasPrefix("prestart \"status\":\"creating\"") == true)
        #expect(lines.dropFirst().first?.hasPrefix("createRuntime \"status\":\"creating\"") == true)
        #expect(lines.dropFirst(2).first?.hasPrefix("createContainer \"status\":\"creating\"") == true)
        #expect(lines.dropFirst(3).first?.hasPrefix("poststart \"status\":\"running\"") == true)
        #expect(lines.dropFirst(4).first?.hasPrefix("poststop \"status\":\"stopped\"") == true)
        #expect(try FileSystem.readString(bundle + "/rootfs/main.log") == "startContainer\nmain\n")
    }

    @Test("a failing or slow create hook fails create and leaves nothing")
    func failingHooks() throws {
        let sandbox = try Sandbox("hookfail")
        defer { sandbox.cleanUp() }
        let failing = try sandbox.bundle(["true"], name: "failing") {
            $0.hooks = .init(createRuntime: [.init(path: "/bin/sh", args: ["sh", "-c", "echo no-way >&2; exit 3"])])
        }
        let output = try sandbox.berth("create", "--bundle", failing, "hook-fails")
        #expect(output.status == .exited(1))
        #expect(output.err == "berth: create: hooks.createRuntime[0]: /bin/sh exited with status 3: no-way")
        #expect(!FileSystem.exists(sandbox.stateRoot + "/hook-fails"))

        let slow = try sandbox.bundle(["true"], name: "slow") {
            $0.hooks = .init(prestart: [.init(path: "/bin/sleep", args: ["sleep", "30"], timeout: 1)])
        }
        let timedOut = try sandbox.berth("create", "--bundle", slow, "hook-slow")
        #expect(timedOut.err == "berth: create: hooks.prestart[0]: /bin/sleep did not finish within 1.0 seconds")
        #expect(!FileSystem.exists(sandbox.stateRoot + "/hook-slow"))
        #expect(TestHost.cgroupDirectories(containing: "berth/hook-slow").isEmpty)
    }
}
