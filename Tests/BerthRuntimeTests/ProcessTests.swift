import BerthLinux
import BerthOCI
import Foundation
import Testing

@Suite("The container's process: user, capabilities, rlimits, seccomp, terminal", .enabled(if: TestHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct ProcessTests {
    @Test("user, groups, umask, env and cwd")
    func identity() throws {
        let sandbox = try Sandbox("identity")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["sh", "-c", "id -u; id -g; id -G; umask; echo $GREETING; pwd"]) { spec in
            spec.process?.user = .init(uid: 1000, gid: 1000, umask: 0o027, additionalGids: [5, 65534])
            spec.process?.env = ["PATH=/bin", "GREETING=hello"]
            spec.process?.cwd = "/home/user"
        }
        let output = try sandbox.run(bundle)
        #expect(output.succeeded, "\(output.err)")
        #expect(output.out == "1000\n1000\n1000 5 65534\n0027\nhello\n/home/user\n")
    }

    @Test("the five capability sets, as /proc/self/status shows them")
    func capabilities() throws {
        let sandbox = try Sandbox("caps")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["sh", "-c", "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status"]) { spec in
            spec.process?.capabilities = .init(
                bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                effective: ["CAP_CHOWN", "CAP_KILL"],
                inheritable: ["CAP_KILL"],
                permitted: ["CAP_CHOWN", "CAP_KILL"],
                ambient: ["CAP_KILL"])
        }
        let output = try sandbox.run(bundle)
        #expect(output.succeeded, "\(output.err)")
        // CHOWN = bit 0, KILL = bit 5, NET_BIND_SERVICE = bit 10. The default spec sets
        // noNewPrivileges, so execve gains nothing: permitted and effective stay as asked.
        let values = Dictionary(uniqueKeysWithValues: output.out.split(separator: "\n").map { line -> (String, UInt64) in
            let parts = line.split(separator: "\t")
            return (String(parts[0].dropLast()), UInt64(parts[1], radix: 16) ?? 0)
        })
        #expect(values["CapBnd"] == 0x421)
        #expect(values["CapInh"] == 0x20)
        #expect(values["CapPrm"] == 0x21)
        #expect(values["CapEff"] == 0x21)
    }

    @Test("capabilities of a non-root user come from the ambient set")
    func ambientForNonRoot() throws {
        let sandbox = try Sandbox("ambient")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["sh", "-c", "grep -E '^Cap(Eff|Prm|Amb)' /proc/self/status | cut -f2"]) { spec in
            spec.process?.user = .init(uid: 1000, gid: 1000)
            let set = ["CAP_NET_BIND_SERVICE"]
            spec.process?.capabilities = .init(bounding: set, effective: set, inheritable: set, permitted: set, ambient: set)
        }
        let output = try sandbox.run(bundle)
        #expect(output.succeeded, "\(output.err)")
        #expect(output.out == "0000000000000400\n0000000000000400\n0000000000000400\n")
    }

    @Test("rlimits and noNewPrivileges and oomScoreAdj")
    func limits() throws {
        let sandbox = try Sandbox("rlimits")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["sh", "-c", "ulimit -n; ulimit -Hn; grep NoNewPrivs /proc/self/status | cut -f2; cat /proc/self/oom_score_adj"]) { spec in
            spec.process?.rlimits = [.init(type: "RLIMIT_NOFILE", hard: 512, soft: 256)]
            spec.process?.noNewPrivileges = true
            spec.process?.oomScoreAdj = 123
        }
        let output = try sandbox.run(bundle)
        #expect(output.succeeded, "\(output.err)")
        #expect(output.out == "256\n512\n1\n123\n")
    }

    @Test("seccomp: refused syscalls get the configured errno, argument conditions hold")
    func seccomp() throws {
        let sandbox = try Sandbox("seccomp")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["sh", "-c", """
            mkdir /tmp/d 2>&1 | sed 's/.*: //'
            chmod 0700 /tmp 2>&1 | sed 's/.*: //'; chmod 1777 /tmp && echo chmod-1777-ok
            ls / > /dev/null && echo ls-ok
            """]) { spec in
            spec.linux?.seccomp = .init(
                defaultAction: "SCMP_ACT_ALLOW",
                architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
                syscalls: [
                    .init(names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 13),
                    // chmod/fchmodat only when the mode is 0700.
                    .init(names: ["chmod"], action: "SCMP_ACT_ERRNO", args: [.init(index: 1, value: 0o700, op: "SCMP_CMP_EQ")]),
                    .init(names: ["fchmodat"], action: "SCMP_ACT_ERRNO", args: [.init(index: 2, value: 0o700, op: "SCMP_CMP_EQ")]),
                ])
        }
        let output = try sandbox.run(bundle)
        #expect(output.succeeded, "\(output.err)")
        #expect(output.out == "Permission denied\nOperation not permitted\nchmod-1777-ok\nls-ok\n")
    }

    @Test("no host fd leaks into the container")
    func noLeakedDescriptors() throws {
        let sandbox = try Sandbox("fds")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["sh", "-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '"])
        let output = try sandbox.run(bundle)
        #expect(output.succeeded, "\(output.err)")
        // 0, 1, 2 and the directory ls itself has open.
        #expect(output.out == "0 1 2 3 ")
    }

    @Test("--preserve-fds passes exactly the extra fds, as 3, 4, ...")
    func preserveFDs() throws {
        let sandbox = try Sandbox("preserve")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["sh", "-c", "echo through-fd-3 >&3"])
        let script = "exec 3>\(sandbox.directory)/fd3.txt; exec \(TestHost.berthBinary) --root \(sandbox.stateRoot) run --preserve-fds 1 --bundle \(bundle) preserve"
        let output = try TestHost.run(["/bin/sh", "-c", script])
        #expect(output.succeeded, "\(output.err)")
        #expect(try FileSystem.readString(sandbox.directory + "/fd3.txt") == "through-fd-3\n")
    }

    @Test("a terminal: the pty master goes to --console-socket and the process has a tty")
    func consoleSocket() throws {
        let sandbox = try Sandbox("tty")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["sh", "-c", "tty; echo hello-tty"]) { $0.process?.terminal = true }
        let socketPath = sandbox.directory + "/console.sock"
        let listener = try ConsoleListener(path: socketPath)
        defer { listener.close() }
        #expect(try sandbox.berth("create", "--bundle", bundle, "--console-socket", socketPath, "tty-box").succeeded)
        let master = try listener.acceptMaster()
        defer { master.close() }
        #expect(try sandbox.berth("start", "tty-box").succeeded)
        let text = try readUntil(master, contains: "hello-tty")
        #expect(text.contains("/dev/pts/0"))
        #expect(text.contains("hello-tty"))
    }
}
