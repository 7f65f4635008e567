import Foundation
import Testing
@testable import BerthOCI

@Suite struct ValidationTests {
    @Test func unknownCapabilityAtIndex3() {
        let spec = mutated { $0.process?.capabilities?.bounding = ["CAP_KILL", "CAP_CHOWN", "CAP_SETUID", "CAP_FOO"] }
        #expect(problem(spec) == #"config.json: process.capabilities.bounding[3]: unknown capability "CAP_FOO""#)
    }

    @Test func missingRoot() {
        #expect(problem(mutated { $0.root = nil }) == "config.json: root: missing")
        #expect(problem(mutated { $0.root?.path = "" }) == "config.json: root.path: must not be empty")
    }

    @Test func processRules() {
        #expect(problem(mutated { $0.process = nil }) == "config.json: process: missing")
        #expect(problem(mutated { $0.process?.args = [] }) == "config.json: process.args: must not be empty")
        #expect(problem(mutated { $0.process?.cwd = "tmp" }) == #"config.json: process.cwd: must be an absolute path, got "tmp""#)
        #expect(problem(mutated { $0.process?.env = ["A=1", "NOVALUE"] }) == #"config.json: process.env[1]: expected KEY=value, got "NOVALUE""#)
        #expect(problem(mutated { $0.process?.oomScoreAdj = 1001 }) == "config.json: process.oomScoreAdj: must be between -1000 and 1000, got 1001")
    }

    @Test func processMayBeAbsentWhenNotCreating() {
        var spec = baseSpec()
        spec.process = nil
        #expect((try? spec.validate(forCreate: false)) != nil)
    }

    @Test func rlimits() {
        let bad = mutated { $0.process?.rlimits = [Spec.Rlimit(type: "RLIMIT_NOFILE", hard: 1024, soft: 2048)] }
        #expect(problem(bad) == "config.json: process.rlimits[0]: soft limit 2048 exceeds hard limit 1024")
        let unknown = mutated { $0.process?.rlimits?.append(Spec.Rlimit(type: "RLIMIT_FOO", hard: 1, soft: 1)) }
        #expect(problem(unknown) == #"config.json: process.rlimits[1].type: unknown rlimit "RLIMIT_FOO""#)
        let twice = mutated { $0.process?.rlimits?.append(Spec.Rlimit(type: "RLIMIT_NOFILE", hard: 1, soft: 1)) }
        #expect(problem(twice) == #"config.json: process.rlimits[1].type: duplicate rlimit "RLIMIT_NOFILE""#)
    }

    @Test func ociVersion() {
        #expect(problem(mutated { $0.ociVersion = "" }) == "config.json: ociVersion: missing")
        #expect(problem(mutated { $0.ociVersion = "2.0.0" }) == "config.json: ociVersion: version 2.0.0 is not supported (berth implements runtime-spec 1.x)")
        #expect(problem(mutated { $0.ociVersion = "1.2" }) == #"config.json: ociVersion: "1.2" is not a SemVer version such as "1.2.0""#)
        #expect(problem(mutated { $0.ociVersion = "1.0.2-dev" }) == nil)
    }

    @Test func namespaces() {
        let dup = mutated { $0.linux?.namespaces?.append(Spec.Namespace(type: "pid")) }
        #expect(problem(dup) == #"config.json: linux.namespaces[6].type: duplicate namespace "pid""#)
        let unknown = mutated { $0.linux?.namespaces?[2] = Spec.Namespace(type: "net") }
        #expect(problem(unknown) == #"config.json: linux.namespaces[2].type: unknown namespace type "net" (expected one of pid, network, mount, ipc, uts, user, cgroup, time)"#)
        let relative = mutated { $0.linux?.namespaces?[1].path = "netns/x" }
        #expect(problem(relative) == #"config.json: linux.namespaces[1].path: must be an absolute path, got "netns/x""#)
    }

    @Test func userNamespaceMappings() {
        let withoutUserNS = mutated { $0.linux?.uidMappings = [Spec.IDMapping(containerID: 0, hostID: 100000, size: 65536)] }
        #expect(problem(withoutUserNS) == #"config.json: linux.uidMappings: only allowed when creating a user namespace (add {"type": "user"} to linux.namespaces)"#)
        let withoutMappings = mutated { $0.linux?.namespaces?.append(Spec.Namespace(type: "user")) }
        #expect(problem(withoutMappings) == "config.json: linux.uidMappings: required when creating a user namespace")
        let good = mutated {
            $0.linux?.namespaces?.append(Spec.Namespace(type: "user"))
            $0.linux?.uidMappings = [Spec.IDMapping(containerID: 0, hostID: 100000, size: 65536)]
            $0.linux?.gidMappings = [Spec.IDMapping(containerID: 0, hostID: 100000, size: 65536)]
        }
        #expect(problem(good) == nil)
    }

    @Test func hostnameNeedsUTS() {
        let spec = mutated { $0.linux?.namespaces?.removeAll { $0.type == "uts" } }
        #expect(problem(spec) == "config.json: hostname: requires a uts namespace in linux.namespaces")
        let noName = mutated {
            $0.linux?.namespaces?.removeAll { $0.type == "uts" }
            $0.hostname = ""
        }
        #expect(problem(noName) == nil)
    }

    @Test func sysctlNeedsItsNamespace() {
        let net = mutated {
            $0.linux?.namespaces?.removeAll { $0.type == "network" }
            $0.linux?.sysctl = ["net.ipv4.ip_forward": "1"]
        }
        #expect(problem(net) == #"config.json: linux.sysctl["net.ipv4.ip_forward"]: requires a network namespace in linux.namespaces"#)
        let ipc = mutated {
            $0.linux?.namespaces?.removeAll { $0.type == "ipc" }
            $0.linux?.sysctl = ["kernel.shmmax": "1"]
        }
        #expect(problem(ipc) == #"config.json: linux.sysctl["kernel.shmmax"]: requires an ipc namespace in linux.namespaces"#)
        let global = mutated { $0.linux?.sysctl = ["vm.swappiness": "10"] }
        #expect(problem(global) == #"config.json: linux.sysctl["vm.swappiness"]: not namespaced; berth will not change it for the whole host"#)
        let fine = mutated { $0.linux?.sysctl = ["net/ipv4/ip_forward": "1", "fs.mqueue.msg_max": "20", "kernel.domainname": "x"] }
        #expect(problem(fine) == nil)
    }

    @Test func seccomp() {
        let allow = Spec.Syscall(names: ["read"], action: "SCMP_ACT_ALLOW")
        let badDefault = mutated { $0.linux?.seccomp = Spec.Seccomp(defaultAction: "SCMP_ACT_DENY") }
        #expect(problem(badDefault) == #"config.json: linux.seccomp.defaultAction: unknown action "SCMP_ACT_DENY""#)
        let badAction = mutated {
            $0.linux?.seccomp = Spec.Seccomp(defaultAction: "SCMP_ACT_ERRNO", syscalls: [allow, Spec.Syscall(names: ["mount"], action: "SCMP_ACT_EXPLODE")])
        }
        #expect(problem(badAction) == #"config.json: linux.seccomp.syscalls[1].action: unknown action "SCMP_ACT_EXPLODE""#)
        let badIndex = mutated {
            let arg = Spec.SyscallArg(index: 6, value: 1, op: "SCMP_CMP_EQ")
            $0.linux?.seccomp = Spec.Seccomp(defaultAction: "SCMP_ACT_ALLOW", syscalls: [Spec.Syscall(names: ["kill"], action: "SCMP_ACT_ERRNO", args: [arg])])
        }
        #expect(problem(badIndex) == "config.json: linux.seccomp.syscalls[0].args[0].index: must be less than 6, got 6")
        let badOp = mutated {
            let arg = Spec.SyscallArg(index: 0, value: 1, op: "SCMP_CMP_APPROX")
            $0.linux?.seccomp = Spec.Seccomp(defaultAction: "SCMP_ACT_ALLOW", syscalls: [Spec.Syscall(names: ["kill"], action: "SCMP_ACT_LOG", args: [arg])])
        }
        #expect(problem(badOp) == #"config.json: linux.seccomp.syscalls[0].args[0].op: unknown operator "SCMP_CMP_APPROX""#)
        let badArch = mutated { $0.linux?.seccomp = Spec.Seccomp(defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"]) }
        #expect(problem(badArch) == #"config.json: linux.seccomp.architectures[1]: unknown architecture "SCMP_ARCH_VAX""#)
        let badFlag = mutated { $0.linux?.seccomp = Spec.Seccomp(defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_FAST"]) }
        #expect(problem(badFlag) == #"config.json: linux.seccomp.flags[0]: unknown flag "SECCOMP_FILTER_FLAG_FAST""#)
        let listener = mutated { $0.linux?.seccomp = Spec.Seccomp(defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/run/agent.sock") }
        #expect(problem(listener) == "config.json: linux.seccomp.listenerPath: not supported by berth")
    }

    @Test func unsupportedFieldsAreRefused() {
        #expect(problem(mutated { $0.process?.apparmorProfile = "docker-default" }) == "config.json: process.apparmorProfile: not supported by berth")
        #expect(problem(mutated { $0.process?.apparmorProfile = "" }) == nil)
        #expect(problem(mutated { $0.process?.selinuxLabel = "system_u:system_r:container_t:s0" }) == "config.json: process.selinuxLabel: not supported by berth")
        #expect(problem(mutated { $0.process?.user.username = "root" }) == "config.json: process.user.username: not supported by berth")
        #expect(problem(mutated { $0.process?.ioPriority = Spec.IOPriority(class: "IOPRIO_CLASS_IDLE") }) == "config.json: process.ioPriority: not supported by berth")
        #expect(problem(mutated { $0.process?.scheduler = Spec.Scheduler(policy: "SCHED_BATCH") }) == "config.json: process.scheduler: not supported by berth")
        #expect(problem(mutated { $0.process?.execCPUAffinity = Spec.ExecCPUAffinity(final: "0-3") }) == "config.json: process.execCPUAffinity: not supported by berth")
        #expect(problem(mutated { $0.linux?.mountLabel = "system_u:object_r:container_file_t:s0" }) == "config.json: linux.mountLabel: not supported by berth")
        #expect(problem(mutated { $0.linux?.intelRdt = Spec.IntelRdt(closID: "gold") }) == "config.json: linux.intelRdt: not supported by berth")
        #expect(problem(mutated { $0.linux?.personality = Spec.Personality(domain: "LINUX32") }) == #"config.json: linux.personality.domain: "LINUX32" is not supported by berth"#)
        #expect(problem(mutated { $0.linux?.personality = Spec.Personality(domain: "LINUX") }) == nil)
        #expect(problem(mutated { $0.linux?.timeOffsets = ["monotonic": Spec.TimeOffset(secs: 10)] }) == "config.json: linux.timeOffsets: requires a new time namespace")
        let withTime = mutated {
            $0.linux?.namespaces?.append(Spec.Namespace(type: "time"))
            $0.linux?.timeOffsets = ["monotonic": Spec.TimeOffset(secs: 10)]
        }
        #expect(problem(withTime) == nil)
        let idmapped = mutated { $0.mounts?[0].uidMappings = [Spec.IDMapping(containerID: 0, hostID: 1000, size: 1)] }
        #expect(problem(idmapped) == "config.json: mounts[0].uidMappings: not supported by berth")
        let idmapOption = mutated { $0.mounts?[1].options = ["nosuid", "idmap"] }
        #expect(problem(idmapOption) == #"config.json: mounts[1].options[1]: "idmap" is not supported by berth"#)
        #expect(problem(mutated { $0.linux?.resources?.memory = Spec.Resources.Memory(kernel: 1 << 20) }) == "config.json: linux.resources.memory.kernel: not supported by berth")
    }

    @Test func unsupportedFieldInJSON() {
        var json = realisticConfig
        json = json.replacingOccurrences(of: #""noNewPrivileges": true,"#, with: #""noNewPrivileges": true, "apparmorProfile": "unconfined","#)
        #expect(problem(json) == "config.json: process.apparmorProfile: not supported by berth")
    }

    @Test func mountsDevicesHooks() {
        #expect(problem(mutated { $0.mounts?[2].destination = "dev/pts" }) == #"config.json: mounts[2].destination: must be an absolute path, got "dev/pts""#)
        #expect(problem(mutated { $0.mounts?.append(Spec.Mount(destination: "/data", options: ["rbind"])) }) == "config.json: mounts[7].source: required for a bind mount")
        #expect(problem(mutated { $0.mounts?.append(Spec.Mount(destination: "/data", source: "/srv")) }) == "config.json: mounts[7].type: required unless the options include bind or rbind")
        #expect(problem(mutated { $0.linux?.devices = [Spec.Device(type: "x", path: "/dev/x")] }) == #"config.json: linux.devices[0].type: unknown device type "x" (expected c, b, u or p)"#)
        #expect(problem(mutated { $0.linux?.devices = [Spec.Device(type: "c", path: "/dev/fuse", major: 10)] }) == #"config.json: linux.devices[0].minor: required for a "c" device"#)
        #expect(problem(mutated { $0.linux?.devices = [Spec.Device(type: "p", path: "dev/fifo")] }) == #"config.json: linux.devices[0].path: must be an absolute path, got "dev/fifo""#)
        #expect(problem(mutated { $0.linux?.devices = [Spec.Device(type: "p", path: "/dev/fifo")] }) == nil)
        #expect(problem(mutated { $0.hooks = Spec.Hooks(poststart: [Spec.Hook(path: "/bin/true"), Spec.Hook(path: "/bin/true", timeout: 0)]) }) == "config.json: hooks.poststart[1].timeout: must be greater than zero, got 0")
        #expect(problem(mutated { $0.hooks = Spec.Hooks(prestart: [Spec.Hook(path: "true")]) }) == #"config.json: hooks.prestart[0].path: must be an absolute path, got "true""#)
        #expect(problem(mutated { $0.linux?.rootfsPropagation = "recursive" }) == #"config.json: linux.rootfsPropagation: unknown propagation "recursive" (expected one of private, rprivate, rshared, rslave, runbindable, shared, slave, unbindable)"#)
        #expect(problem(mutated { $0.linux?.maskedPaths?.append("proc/kcore") }) == #"config.json: linux.maskedPaths[11]: must be an absolute path, got "proc/kcore""#)
    }

    @Test func resources() {
        func res(_ change: @escaping (inout Spec.Resources) -> Void) -> String? {
            problem(mutated { spec in
                var r = Spec.Resources()
                change(&r)
                spec.linux?.resources = r
            })
        }
        #expect(res { $0.memory = .init(limit: -2) } == "config.json: linux.resources.memory.limit: must be -1 (unlimited) or a byte count, got -2")
        #expect(res { $0.memory = .init(limit: -1) } == nil)
        #expect(res { $0.memory = .init(limit: 200, swap: 100) } == "config.json: linux.resources.memory.swap: must be at least memory.limit (200): it limits memory+swap, got 100")
        #expect(res { $0.memory = .init(swappiness: 101) } == "config.json: linux.resources.memory.swappiness: must be between 0 and 100, got 101")
        #expect(res { $0.cpu = .init(quota: 10) } == "config.json: linux.resources.cpu.quota: must be -1 (unlimited) or at least 1000 µs, got 10")
        #expect(res { $0.cpu = .init(period: 2_000_000) } == "config.json: linux.resources.cpu.period: must be between 1000 and 1000000 µs, got 2000000")
        #expect(res { $0.cpu = .init(quota: 5000, burst: 6000) } == "config.json: linux.resources.cpu.burst: must not exceed cpu.quota (5000), got 6000")
        #expect(res { $0.cpu = .init(cpus: "0-3,7-5") } == #"config.json: linux.resources.cpu.cpus: expected a list such as "0-3,6", got "0-3,7-5""#)
        #expect(res { $0.cpu = .init(cpus: "0-3,6", mems: "0") } == nil)
        #expect(res { $0.pids = .init(limit: -5) } == "config.json: linux.resources.pids.limit: must be -1 (unlimited) or a task count, got -5")
        #expect(res { $0.blockIO = .init(weight: 5) } == "config.json: linux.resources.blockIO.weight: must be between 10 and 1000, got 5")
        #expect(res { $0.blockIO = .init(weightDevice: [.init(major: 8, minor: 0, weight: 2000)]) } == "config.json: linux.resources.blockIO.weightDevice[0].weight: must be between 10 and 1000, got 2000")
        #expect(res { $0.devices = [.init(allow: true, type: "c", major: 1, minor: 3, access: "rwx")] } == #"config.json: linux.resources.devices[0].access: only r, w and m are allowed, got "rwx""#)
        #expect(res { $0.hugepageLimits = [.init(pageSize: "2M", limit: 0)] } == #"config.json: linux.resources.hugepageLimits[0].pageSize: expected a size such as "2MB" or "1GB", got "2M""#)
        #expect(res { $0.unified = ["cgroup.procs": "1"] } == #"config.json: linux.resources.unified["cgroup.procs"]: cannot be set through linux.resources.unified"#)
    }

    @Test func execProcessValidation() throws {
        let p = try Spec.Process.decode(Data(#"{"cwd":"/","args":["ls"],"user":{"uid":0,"gid":0},"capabilities":{"ambient":["CAP_NOPE"]}}"#.utf8))
        #expect(throws: OCIError(source: "process.json", path: "capabilities.ambient[0]", message: "unknown capability \"CAP_NOPE\"")) {
            try p.validate()
        }
    }
}
