import Foundation
import Testing
@testable import BerthOCI

@Suite struct DocumentTests {
    @Test func defaultSpecValidatesAndRoundTrips() throws {
        let spec = Spec.defaultSpec()
        try spec.validate()
        let data = try spec.encode()
        #expect(try Spec.decode(data) == spec)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.hasPrefix("{\n\t\"hostname\": \"berth\",\n\t\"linux\": {"))
        #expect(text.hasSuffix("}\n"))
        #expect(text.contains("\"ociVersion\": \"1.2.0\""))
        #expect(text.contains("\"destination\": \"/dev/pts\""))
        #expect(!text.contains("inheritable") && !text.contains("ambient"))
        #expect(!text.contains("null"))
    }

    @Test func defaultSpecContents() {
        let spec = Spec.defaultSpec()
        #expect(spec.process?.args == ["sh"])
        #expect(spec.process?.terminal == true)
        #expect(spec.process?.noNewPrivileges == true)
        #expect(spec.process?.capabilities?.permitted == ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
        #expect(spec.root == Spec.Root(path: "rootfs", readonly: true))
        #expect(spec.mounts?.map(\.destination) == ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"])
        #expect(spec.linux?.namespaces?.map(\.type) == ["pid", "network", "ipc", "uts", "mount", "cgroup"])
        #expect(spec.linux?.maskedPaths?.count == 11)
        #expect(spec.linux?.readonlyPaths == ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"])
    }

    @Test func stringsAreEscaped() throws {
        var spec = Spec.defaultSpec()
        spec.annotations = ["k": "quote\" back\\ tab\t nl\n ctl\u{01} é /"]
        let text = try OCIJSON.encodeString(spec, pretty: false)
        #expect(text.contains(#""k":"quote\" back\\ tab\t nl\n ctl\u0001 é /""#))
        #expect(try Spec.decode(Data(text.utf8)) == spec)
    }

    @Test func extremeIntegersRoundTrip() throws {
        var spec = Spec.defaultSpec()
        spec.process?.rlimits = [Spec.Rlimit(type: "RLIMIT_CORE", hard: .max, soft: .max)]
        spec.linux?.resources?.memory = Spec.Resources.Memory(limit: -1, swap: -1)
        let text = try OCIJSON.encodeString(spec)
        #expect(text.contains("\"hard\": 18446744073709551615"))
        #expect(try Spec.decode(Data(text.utf8)) == spec)
    }

    @Test func deepNestingIsRefused() {
        let json = String(repeating: "[", count: 10_000)
        #expect(problem(json) == "config.json: not valid JSON: nesting deeper than 512 levels at line 1, column 513")
    }

    @Test func stateRoundTripAndErrors() throws {
        let state = ContainerState(id: "web", status: .running, pid: 4242, bundle: "/srv/web", annotations: ["a": "b"])
        let data = try state.encode()
        #expect(try ContainerState.decode(data) == state)
        #expect(String(decoding: data, as: UTF8.self).contains("\"status\": \"running\""))
        let bad = #"{"ociVersion":"1.2.0","id":"web","status":"sleeping","bundle":"/srv/web"}"#
        #expect(throws: OCIError(source: "state.json", path: "status",
                                 message: "unknown status \"sleeping\" (expected one of creating, created, running, stopped, paused)")) {
            _ = try ContainerState.decode(Data(bad.utf8))
        }
    }

    @Test func featuresDocument() throws {
        let f = Features.berth(cgroupV1: true, cgroupV2: true)
        let text = String(decoding: try f.encode(), as: UTF8.self)
        #expect(text.contains("\"ociVersionMax\": \"1.2.0\""))
        #expect(text.contains("\"SCMP_ACT_KILL_PROCESS\""))
        #expect(text.contains("\"CAP_CHECKPOINT_RESTORE\""))
        #expect(text.contains("\"mountExtensions\": {\n\t\t\t\"idmap\": {\n\t\t\t\t\"enabled\": false"))
        #expect(try OCIJSON.decode(Features.self, from: Data(text.utf8), source: "features.json") == f)
        #expect(f.mountOptions?.contains("rbind") == true)
        #expect(f.mountOptions?.contains("idmap") == false)
    }

    @Test func tables() {
        #expect(LinuxCapability.number("CAP_CHOWN") == 0)
        #expect(LinuxCapability.number("CAP_SYS_ADMIN") == 21)
        #expect(LinuxCapability.number("CAP_CHECKPOINT_RESTORE") == 40)
        #expect(LinuxCapability.last == 40)
        #expect(LinuxCapability.mask(["CAP_KILL", "CAP_NET_BIND_SERVICE"]) == (1 << 5) | (1 << 10))
        #expect(LinuxRlimit.number("RLIMIT_AS") == 9)
        #expect(LinuxRlimit.number("RLIMIT_NOFILE") == 7)
        #expect(LinuxRlimit.number("RLIMIT_RTTIME") == 15)
        #expect(SeccompTables.architectures["SCMP_ARCH_X86_64"] == "x86_64")
        #expect(SeccompTables.architectures["SCMP_ARCH_AARCH64"] == "aarch64")
        #expect(SeccompTables.flags["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] == 32)
        #expect(SeccompTables.actionValue("SCMP_ACT_ERRNO") == 0x0005_0001)
        #expect(SeccompTables.actionValue("SCMP_ACT_ERRNO", errnoRet: 38) == 0x0005_0026)
        #expect(SeccompTables.actionValue("SCMP_ACT_ALLOW", errnoRet: 38) == 0x7FFF_0000)
        #expect(SeccompTables.operators["SCMP_CMP_MASKED_EQ"] == 7)
        #expect(LinuxNamespace.cloneFlags["network"] == 0x4000_0000)
        #expect(Sysctl.namespace(for: "kernel.sem") == "ipc")
        #expect(Sysctl.namespace(for: "kernel.hostname") == "uts")
        #expect(Sysctl.namespace(for: "kernel.pid_max") == nil)
    }
}
