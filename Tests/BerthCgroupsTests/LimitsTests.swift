import Testing
import BerthLinux
@testable import BerthCgroups
#if canImport(Glibc)
import Glibc
#endif

/// Limits land where a user looks for them, and refusals read as one line naming the field.
extension CgroupSuites {
    @Suite struct LimitsTests {
        @Test(.enabled(if: CgroupTestHost.rootOrCI, "needs root; in CI it runs and fails without it"), .enabled(if: CgroupTestHost.hasV1Files, "v1 files only exist on a hybrid or legacy host"))
        func v1LimitsLandInTheirFiles() throws {
            let resources = Resources(
                cpu: .init(shares: 512, quota: 50_000, period: 100_000, cpus: "0", mems: "0"),
                memory: .init(limit: 64 << 20, reservation: 32 << 20, swap: 128 << 20, swappiness: 10),
                pids: .init(limit: 5),
                hugepageLimits: [.init(pageSize: "2MB", limit: 4 << 20)])
            let host = try CgroupHost.detect()
            try withTestCgroup(resources) { cgroup in
                func v1(_ controller: String, _ file: String) -> String {
                    readFile((cgroup.directory(version: 1, controller: controller) ?? "/nonexistent") + "/" + file)
                }
                #expect(v1("memory", "memory.limit_in_bytes") == "\(64 << 20)")
                #expect(v1("memory", "memory.soft_limit_in_bytes") == "\(32 << 20)")
                #expect(v1("memory", "memory.swappiness") == "10")
                if FileSystem.exists((cgroup.directory(version: 1, controller: "memory") ?? "") + "/memory.memsw.limit_in_bytes") {
                    #expect(v1("memory", "memory.memsw.limit_in_bytes") == "\(128 << 20)")
                }
                #expect(v1("cpu", "cpu.cfs_quota_us") == "50000")
                #expect(v1("cpu", "cpu.cfs_period_us") == "100000")
                #expect(v1("cpu", "cpu.shares") == "512")
                #expect(v1("cpuset", "cpuset.cpus") == "0")
                #expect(v1("pids", "pids.max") == "5")
                // hugetlb lives in the v2 hierarchy on this host: the mirror carries it.
                let hugetlb = host.hierarchy(for: "hugetlb")
                if hugetlb?.version == 2, let v2 = cgroup.directory(version: 2) {
                    #expect(readFile(v2 + "/hugetlb.2MB.max") == "\(4 << 20)")
                } else if hugetlb?.version == 1 {
                    #expect(v1("hugetlb", "hugetlb.2MB.limit_in_bytes") == "\(4 << 20)")
                }

                // Update: raise memory (memsw first), unlimited quota, more pids.
                try cgroup.update(Resources(cpu: .init(quota: -1), memory: .init(limit: 256 << 20, swap: 512 << 20), pids: .init(limit: 0)))
                #expect(v1("memory", "memory.limit_in_bytes") == "\(256 << 20)")
                #expect(v1("cpu", "cpu.cfs_quota_us") == "-1")
                #expect(v1("pids", "pids.max") == "max")
                // And down again below the old memsw: memory first.
                try cgroup.update(Resources(memory: .init(limit: 16 << 20, swap: 16 << 20)))
                #expect(v1("memory", "memory.limit_in_bytes") == "\(16 << 20)")
                // Unlimited memory with swap unset lifts both.
                try cgroup.update(Resources(memory: .init(limit: -1)))
                #expect(v1("memory", "memory.limit_in_bytes") == "9223372036854771712")
            }
        }

        @Test(.enabled(if: CgroupTestHost.rootOrCI, "needs root; in CI it runs and fails without it"), .enabled(if: CgroupTestHost.unifiedWithCoreControllers, "needs a unified host with cpu, cpuset, memory and pids (e.g. the vng VM)"))
        func v2LimitsLandInTheirFiles() throws {
            let resources = Resources(
                cpu: .init(shares: 1024, quota: 50_000, period: 100_000, cpus: "0"),
                memory: .init(limit: 64 << 20, reservation: 32 << 20, swap: 96 << 20),
                pids: .init(limit: 5),
                unified: ["memory.high": "\(60 << 20)"])
            try withTestCgroup(resources) { cgroup in
                let dir = try #require(cgroup.directory(version: 2))
                #expect(readFile(dir + "/cpu.weight") == "39")
                #expect(readFile(dir + "/cpu.max") == "50000 100000")
                #expect(readFile(dir + "/cpuset.cpus") == "0")
                #expect(readFile(dir + "/memory.max") == "\(64 << 20)")
                #expect(readFile(dir + "/memory.low") == "\(32 << 20)")
                #expect(readFile(dir + "/memory.high") == "\(60 << 20)")
                if FileSystem.exists(dir + "/memory.swap.max") {
                    #expect(readFile(dir + "/memory.swap.max") == "\(32 << 20)", "swap.max = swap - limit")
                }
                #expect(readFile(dir + "/pids.max") == "5")
                // Only the period changes: the quota half of cpu.max stays.
                try cgroup.update(Resources(cpu: .init(period: 200_000), memory: .init(limit: -1), pids: .init(limit: -1)))
                #expect(readFile(dir + "/cpu.max") == "50000 200000")
                #expect(readFile(dir + "/memory.max") == "max")
                #expect(readFile(dir + "/pids.max") == "max")
                try cgroup.update(Resources(cpu: .init(quota: -1)))
                #expect(readFile(dir + "/cpu.max") == "max 200000")
                let stats = cgroup.stats()
                #expect(stats.memory != nil)
                #expect(stats.pids?.current == 0)
            }
        }

        @Test(.enabled(if: CgroupTestHost.rootOrCI, "needs root; in CI it runs and fails without it"), .enabled(if: CgroupTestHost.hybridWithV2Hugetlb, "needs the hybrid host with hugetlb on v2"))
        func unifiedKeysGoToTheV2Mirror() throws {
            try withTestCgroup(Resources(unified: ["hugetlb.2MB.max": "2097152"])) { cgroup in
                #expect(readFile(cgroup.directory(version: 2)! + "/hugetlb.2MB.max") == "2097152")
            }
            let refused = errorText { try withTestCgroup(Resources(unified: ["memory.high": "1000000"])) { _ in } }
            #expect(refused == "linux.resources.unified: \"memory.high\": memory is not a v2 controller here (it is mounted as cgroup v1)")
        }

        @Test(.enabled(if: CgroupTestHost.rootOrCI, "needs root; in CI it runs and fails without it"))
        func pidsLimitStopsForks() throws {
            try withTestCgroup(Resources(pids: .init(limit: 5))) { cgroup in
                var shell = try GatedShell("for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; wait")
                defer { shell.close() }
                try cgroup.addProcess(shell.pid)
                shell.release()
                let (status, output) = try shell.finish()
                try cgroup.killAll()
                #expect(status != .exited(0), "\(output)")
                #expect(output.lowercased().contains("fork"), "the shell reports the failed fork: \(output)")
                #expect(cgroup.stats().pids?.limit == 5)
            }
        }

        @Test(.enabled(if: CgroupTestHost.rootOrCI, "needs root; in CI it runs and fails without it"))
        func refusalsAreOneLineAndComeBeforeAnythingIsMade() throws {
            let host = try CgroupHost.detect()
            let online = readFile("/sys/devices/system/cpu/online")
            let cases: [(Resources, String)] = [
                (Resources(devices: [.init(allow: true, type: "c", major: 1, minor: 3, access: "rwm"), .init(allow: true, type: "x")]),
                 "linux.resources.devices[1].type: \"x\" is not a, b or c"),
                (Resources(devices: [.init(allow: true, type: "c", access: "rwx")]),
                 "linux.resources.devices[0].access: \"rwx\" has letters other than r, w and m"),
                (Resources(cpu: .init(cpus: "64")), "linux.resources.cpu.cpus: CPU 64 is not online (online: \(online))"),
                (Resources(cpu: .init(cpus: "zero")), "linux.resources.cpu.cpus: \"zero\" is not a list like 0-3,7"),
                (Resources(unified: ["foo.bar": "1"]), "linux.resources.unified: unknown key \"foo.bar\""),
                (Resources(cpu: .init(period: 100)), "linux.resources.cpu.period: 100 is outside what the kernel accepts (1000 to 1000000 microseconds)"),
                (Resources(memory: .init(limit: 100 << 20, swap: 50 << 20)),
                 "linux.resources.memory.swap: 52428800 is below linux.resources.memory.limit 104857600 (swap counts memory plus swap)"),
                (Resources(hugepageLimits: [.init(pageSize: "3MB", limit: 1)]),
                 "linux.resources.hugepageLimits[0].pageSize: \"3MB\" is not a huge page size here (have: \(HugePages.sizes().joined(separator: ", ")))"),
            ]
            for (resources, expected) in cases {
                var cgroup = try Cgroup.resolve(host: host, cgroupsPath: testPath(), containerID: "")
                #expect(errorText { try cgroup.create(resources) } == expected)
                #expect(!cgroup.exists(), "nothing made for: \(expected)")
                try? cgroup.destroy()
            }
        }

        @Test(.enabled(if: CgroupTestHost.rootOrCI, "needs root; in CI it runs and fails without it"), .enabled(if: CgroupTestHost.hasV1CPU, "real-time limits are v1 only"))
        func aKernelRefusalNamesTheFieldAndUndoesTheCreate() throws {
            let host = try CgroupHost.detect()
            var cgroup = try Cgroup.resolve(host: host, cgroupsPath: testPath() + "/leaf", containerID: "")
            let message = errorText {
                try cgroup.create(Resources(cpu: .init(realtimeRuntime: 2_000_000, realtimePeriod: 1_000_000)))
            }
            #expect(message == "linux.resources.cpu.realtimeRuntime: 2000000 is outside what the kernel accepts (cpu.rt_runtime_us): Invalid argument")
            #expect(!cgroup.exists())
            for directory in cgroup.directories {
                #expect(!(FileSystem.exists(FileSystem.parentDirectory(of: directory.path))), "the parent made on the way is gone too")
            }
            #expect(cgroup.created.isEmpty)
        }

        @Test
        func v2OnlyRefusals() throws {
            // A unified view of the same paths: fields v2 has no place for are refused up front.
            let mounts = "25 21 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw"
            let host = CgroupHost.parse(mountInfo: mounts, procCgroup: "0::/\n") { _ in ["cpu", "memory", "pids", "io"] }
            let cgroup = try Cgroup.resolve(host: host, cgroupsPath: "/berth/x", containerID: "")
            #expect(errorText { try cgroup.validate(Resources(memory: .init(swappiness: 30))) } == "linux.resources.memory.swappiness: cgroup v2 has no per-cgroup swappiness; leave it unset")
            #expect(errorText { try cgroup.validate(Resources(memory: .init(swappiness: UInt64.max))) } == nil)
            #expect(errorText { try cgroup.validate(Resources(memory: .init(swap: 1 << 30))) } == "linux.resources.memory.swap: cgroup v2 needs linux.resources.memory.limit to place a swap limit")
            #expect(errorText { try cgroup.validate(Resources(cpu: .init(cpus: "0"))) } == "linux.resources.cpu.cpus: the cpuset controller is not available on this host")
            #expect(errorText { try cgroup.validate(Resources(unified: ["cgroup.procs": "1"])) } == "linux.resources.unified: \"cgroup.procs\" is managed by the runtime, not a limit")
            #expect(errorText { try cgroup.validate(Resources(unified: ["memory.high": "1G"])) } == nil)
        }
    }
}
