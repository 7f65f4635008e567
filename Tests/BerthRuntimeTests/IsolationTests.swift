import BerthLinux
import BerthOCI
import Foundation
import Testing

@Suite("Isolation seen from inside the container", .enabled(if: TestHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct IsolationTests {
    @Test("pid 1, own hostname and domainname, own network namespace with only lo")
    func namespaces() throws {
        let sandbox = try Sandbox("ns")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["sh", "-c", "echo $$; hostname; cat /proc/sys/kernel/domainname; ls /sys/class/net; ps -o pid,comm"]) {
            $0.hostname = "inside"
            $0.domainname = "example.test"
        }
        let output = try sandbox.run(bundle)
        #expect(output.succeeded, "\(output.err)")
        let lines = output.out.split(separator: "\n")
        #expect(lines.first == "1")
        #expect(lines.dropFirst().first == "inside")
        #expect(lines.dropFirst(2).first == "example.test")
        #expect(lines.dropFirst(3).first == "lo")
        // Only pid 1 (sh) and ps itself: nothing of the host is visible. (No pipeline, so no
        // process of the shell's can be half-started while ps looks.)
        let processes = lines.drop { !$0.hasPrefix("  PID") && !$0.hasPrefix("PID") }.dropFirst()
            .map { $0.split(separator: " ").map(String.init) }
        // (busybox sh may exec its last command, making ps itself pid 1)
        #expect((1...2).contains(processes.count), "\(output.out)")
        #expect(processes.first?.first == "1")
        #expect(processes.allSatisfy { $0.last == "sh" || $0.last == "ps" }, "\(output.out)")
    }

    @Test("joins another container's namespaces by path")
    func joinByPath() throws {
        let sandbox = try Sandbox("join")
        defer { sandbox.cleanUp() }
        let first = try sandbox.bundle(["sleep", "1000"], name: "first") { $0.hostname = "shared-uts" }
        #expect(try sandbox.berth("run", "-d", "--bundle", first, "join-first").succeeded)
        let pid = try #require(try sandbox.state("join-first").pid)
        // Counted by name from the second container: wait for the first one's exec.
        try sandbox.waitForInit("join-first", toRun: "sleep")
        let second = try sandbox.bundle(["sh", "-c", "hostname; ps -o comm | grep -cx sleep"], name: "second") { spec in
            spec.hostname = nil
            let namespaces = spec.linux?.namespaces ?? []
            spec.linux?.namespaces = namespaces.map { namespace in
                var namespace = namespace
                if namespace.type == "uts" { namespace.path = "/proc/\(pid)/ns/uts" }
                if namespace.type == "pid" { namespace.path = "/proc/\(pid)/ns/pid" }
                return namespace
            }
        }
        let output = try sandbox.run(second)
        #expect(output.succeeded, "\(output.err)")
        #expect(output.out == "shared-uts\n1\n")
    }

    @Test("a user namespace maps container root to an unprivileged host uid")
    func userNamespace() throws {
        let sandbox = try Sandbox("userns")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; touch /tmp/made-by-root"]) { spec in
            spec.linux?.namespaces?.append(.init(type: "user"))
            spec.linux?.uidMappings = [.init(containerID: 0, hostID: 100000, size: 65536)]
            spec.linux?.gidMappings = [.init(containerID: 0, hostID: 100000, size: 65536)]
            // sysfs cannot be mounted in a user namespace that does not own the network namespace's...
            // it does own it here, so the default mounts stay.
        }
        try TestHost.run(["/bin/chown", "-R", "100000:100000", bundle + "/rootfs"])
        let output = try sandbox.run(bundle)
        #expect(output.succeeded, "\(output.err)")
        let words = output.out.split(whereSeparator: { $0 == " " || $0 == "\n" })
        #expect(Array(words) == ["0", "100000", "65536", "0", "100000", "65536", "0"])
        var info = stat()
        #expect(lstat(bundle + "/rootfs/tmp/made-by-root", &info) == 0)
        #expect(info.st_uid == 100000)
    }

    @Test("mounts: proc, tmpfs with options, read-only and read-write binds, in order")
    func mounts() throws {
        let sandbox = try Sandbox("mounts")
        defer { sandbox.cleanUp() }
        let shared = sandbox.directory + "/shared"
        try FileSystem.createDirectory(shared)
        try FileSystem.writeAtomically(Array("from-host\n".utf8), to: shared + "/file")
        let bundle = try sandbox.bundle(["sh", "-c", """
            cat /ro/file; echo x > /ro/new 2>/dev/null && echo ro-writable; echo written > /rw/out
            grep ' /scratch ' /proc/mounts | cut -d' ' -f3,4
            echo x > /sys/kernel/x 2>/dev/null || echo sys-ro
            ls /proc/1/ns >/dev/null && echo proc-ok
            """]) { spec in
            spec.mounts? += [
                .init(destination: "/ro", type: "bind", source: shared, options: ["bind", "ro"]),
                .init(destination: "/rw", type: "bind", source: shared, options: ["rbind", "rw"]),
                .init(destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "size=1m", "mode=700"]),
            ]
        }
        let output = try sandbox.run(bundle)
        #expect(output.succeeded, "\(output.err)")
        let lines = output.out.split(separator: "\n").map(String.init)
        #expect(lines.first == "from-host")
        #expect(!lines.contains("ro-writable"))
        #expect(lines.dropFirst().first?.hasPrefix("tmpfs rw,nosuid,nodev") == true)
        #expect(lines.dropFirst().first?.contains("size=1024k") == true)
        #expect(lines.dropFirst().first?.contains("mode=700") == true)
        #expect(lines.contains("sys-ro"))
        #expect(lines.contains("proc-ok"))
        #expect(try FileSystem.readString(shared + "/out") == "written\n")
        // Nothing of the container's mounts is visible on the host.
        #expect(!(try FileSystem.readString("/proc/self/mountinfo")).contains(bundle))
    }

    @Test("a read-only root, masked paths and read-only paths")
    func readonlyAndMasked() throws {
        let sandbox = try Sandbox("masked")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["sh", "-c", """
            touch /file 2>/dev/null || echo root-ro
            wc -c < /proc/timer_list; ls /sys/firmware | wc -l
            echo 1 > /proc/sys/kernel/domainname 2>/dev/null || echo procsys-ro
            """]) { $0.root?.readonly = true }
        let output = try sandbox.run(bundle)
        #expect(output.succeeded, "\(output.err)")
        #expect(output.out == "root-ro\n0\n0\nprocsys-ro\n")
    }

    @Test("default /dev nodes and symlinks, and linux.devices")
    func devices() throws {
        let sandbox = try Sandbox("dev")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["sh", "-c", """
            echo x > /dev/null && head -c 4 /dev/zero | wc -c
            ls -l /dev/extra-null /dev/fd /dev/ptmx | awk '{print $1, $5, $6, $NF}'
            """]) { spec in
            spec.linux?.devices = [.init(type: "c", path: "/dev/extra-null", major: 1, minor: 3, fileMode: 0o600, uid: 0, gid: 0)]
            spec.linux?.resources?.devices = [
                .init(allow: false, access: "rwm"),
                .init(allow: true, type: "c", major: 1, minor: 3, access: "rwm"),
                .init(allow: true, type: "c", major: 1, minor: 5, access: "rwm"),
            ]
        }
        let output = try sandbox.run(bundle)
        #expect(output.succeeded, "\(output.err)")
        let lines = output.out.split(separator: "\n").map(String.init)
        #expect(lines.first == "4")
        #expect(lines.contains("crw------- 1, 3 /dev/extra-null"))
        #expect(lines.contains { $0.hasPrefix("lrwxrwxrwx") && $0.hasSuffix("/proc/self/fd") })
        #expect(lines.contains { $0.hasPrefix("lrwxrwxrwx") && $0.hasSuffix("pts/ptmx") })
    }

    @Test("sysctls land in the container's own namespaces only")
    func sysctl() throws {
        let sandbox = try Sandbox("sysctl")
        defer { sandbox.cleanUp() }
        let host = try FileSystem.readString("/proc/sys/net/ipv4/ip_forward")
        let bundle = try sandbox.bundle(["cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmni"]) {
            $0.linux?.sysctl = ["net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"]
        }
        let output = try sandbox.run(bundle)
        #expect(output.succeeded, "\(output.err)")
        #expect(output.out == "1\n1234\n")
        #expect(try FileSystem.readString("/proc/sys/net/ipv4/ip_forward") == host)
    }

    @Test("a root.path of / runs on the host's filesystem (plain-binary tasks)")
    func hostRoot() throws {
        let sandbox = try Sandbox("hostroot")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["/bin/sh", "-c", "echo $$; cat /etc/debian_version >/dev/null && echo host-fs; ls /proc | grep -c '^[0-9]'"]) { spec in
            spec.root = .init(path: "/", readonly: false)
            spec.mounts = [.init(destination: "/proc", type: "proc", source: "proc")]
            spec.linux?.maskedPaths = []
            spec.linux?.readonlyPaths = []
        }
        let output = try sandbox.run(bundle)
        #expect(output.succeeded, "\(output.err)")
        #expect(output.out.hasPrefix("1\nhost-fs\n"))
        #expect(output.out.hasSuffix("\n2\n") || output.out.hasSuffix("\n3\n"), "only the container's own processes: \(output.out)")
        // The host's /proc is untouched.
        #expect(try FileSystem.listDirectory("/proc").filter { Int($0) != nil }.count > 3)
    }
}
