import Testing
import Foundation
import BerthLinux
@testable import BerthCgroups

extension CgroupSuites {
    @Suite struct HostModeTests {
        let hybridMounts = """
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:4 - cgroup cgroup rw,cpu,cpuacct
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        36 31 0:33 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
        50 23 0:50 / /mnt/other\\040dir rw - cgroup cgroup rw,freezer
        """
        let hybridSelf = """
        9:name=systemd:/user.slice
        8:pids:/
        4:memory:/process_api/abc
        2:cpu,cpuacct:/
        0::/user.slice/session.scope
        """

        @Test
        func parsesAHybridHost() {
            let host = CgroupHost.parse(mountInfo: hybridMounts, procCgroup: hybridSelf) { _ in ["hugetlb", "pids"] }
            #expect(host.mode == .hybrid)
            // name=systemd has no controllers: it belongs to the init system and is not listed.
            #expect(host.legacy.map(\.mountPoint) == ["/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids"])
            #expect(host.hierarchy(for: "memory")?.ownPath == "/process_api/abc")
            #expect(host.hierarchy(for: "cpu")?.controllers == ["cpu", "cpuacct"])
            #expect(host.hierarchy(for: "cpu")?.ownPath == "/")
            #expect(!host.legacy.map(\.mountPoint).contains("/sys/fs/cgroup/systemd"))
            #expect(host.hierarchy(for: "name=systemd") == nil)
            #expect(!host.hierarchies.contains { $0.controllers.contains("name=systemd") })
            // pids is bound to v1, so v2 drives only hugetlb; the freezer outside the root is ignored.
            #expect(host.unified?.controllers == ["hugetlb"])
            #expect(host.unified?.ownPath == "/user.slice/session.scope")
            #expect(host.hierarchy(for: "hugetlb")?.version == 2)
            #expect(host.hierarchy(for: "freezer") == nil)
        }

        @Test
        func parsesUnifiedAndLegacyHosts() {
            let unified = CgroupHost.parse(
                mountInfo: "25 21 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot",
                procCgroup: "0::/system.slice/berthd.service\n") { _ in ["cpuset", "cpu", "io", "memory", "pids"] }
            #expect(unified.mode == .unified)
            #expect(unified.hierarchy(for: "io")?.mountPoint == "/sys/fs/cgroup")
            #expect(unified.unified?.ownPath == "/system.slice/berthd.service")

            let legacy = CgroupHost.parse(mountInfo: hybridMounts.split(separator: "\n").dropLast(2).joined(separator: "\n"),
                                          procCgroup: hybridSelf) { _ in [] }
            #expect(legacy.mode == .legacy)
            #expect(legacy.unified == nil)
        }

        @Test
        func mountRootLimitsWhatIsSeen() {
            let onlyV2 = CgroupHost.parse(mountInfo: hybridMounts, procCgroup: hybridSelf, mountRoot: "/sys/fs/cgroup/unified") { _ in ["hugetlb"] }
            #expect(onlyV2.mode == .unified)
            #expect(onlyV2.hierarchies.count == 1)
            let escaped = CgroupHost.parse(mountInfo: hybridMounts, procCgroup: "", mountRoot: "/mnt/other dir") { _ in [] }
            #expect(escaped.hierarchies.first?.mountPoint == "/mnt/other dir")
        }

        @Test
        func subtreeMountsMapPaths() {
            let hierarchy = Hierarchy(version: 1, mountPoint: "/sys/fs/cgroup/memory", mountRoot: "/docker/abc", controllers: ["memory"], ownPath: "/docker/abc/x")
            #expect(hierarchy.directory(of: "/docker/abc/x/berth/1") == "/sys/fs/cgroup/memory/x/berth/1")
            #expect(hierarchy.directory(of: "/other") == nil)
        }

        @Test
        func pathRules() throws {
            let host = CgroupHost.parse(mountInfo: hybridMounts, procCgroup: hybridSelf) { _ in ["hugetlb"] }
            let relative = try Cgroup.resolve(host: host, cgroupsPath: "", containerID: "c1")
            #expect(relative.cgroupsPath == "berth/c1")
            #expect(relative.directory(version: 1, controller: "memory") == "/sys/fs/cgroup/memory/process_api/abc/berth/c1")
            #expect(relative.directory(version: 1, controller: "pids") == "/sys/fs/cgroup/pids/berth/c1")
            #expect(relative.directory(version: 2) == "/sys/fs/cgroup/unified/user.slice/session.scope/berth/c1")

            let absolute = try Cgroup.resolve(host: host, cgroupsPath: "/berth/abc", containerID: "x")
            #expect(absolute.directory(version: 1, controller: "memory") == "/sys/fs/cgroup/memory/berth/abc")
            #expect(absolute.directory(version: 2) == "/sys/fs/cgroup/unified/berth/abc")
            #expect(absolute.created.isEmpty)

            #expect(errorText { _ = try Cgroup.resolve(host: host, cgroupsPath: "berth/../../etc", containerID: "x") } == "linux.cgroupsPath: \"berth/../../etc\" has a \"..\" component; cgroup paths may not leave their parent")
            #expect(errorText { _ = try Cgroup.resolve(host: host, cgroupsPath: "/", containerID: "x") } != nil)
        }

        @Test
        func cgroupIsCodable() throws {
            let host = CgroupHost.parse(mountInfo: hybridMounts, procCgroup: hybridSelf) { _ in ["hugetlb"] }
            var cgroup = try Cgroup.resolve(host: host, cgroupsPath: "berth/c1", containerID: "c1")
            cgroup.created = ["/sys/fs/cgroup/pids/berth", "/sys/fs/cgroup/pids/berth/c1"]
            let data = try JSONEncoder().encode(cgroup)
            #expect(try JSONDecoder().decode(Cgroup.self, from: data) == cgroup)
        }

        @Test(.enabled(if: CgroupTestHost.isHybrid, "checks the layout of the hybrid build machine"))
        func detectsThisHost() throws {
            let host = try CgroupHost.detect()
            #expect(host.hierarchy(for: "memory")?.version == 1)
            #expect(host.hierarchy(for: "hugetlb")?.version == 2)
            #expect(host.unified?.mountPoint == "/sys/fs/cgroup/unified")
            // The host's name=systemd hierarchy is mounted but not Berth's to use.
            #expect(host.hierarchy(for: "name=systemd") == nil)
            #expect(!host.legacy.map(\.mountPoint).contains("/sys/fs/cgroup/systemd"))
            let unifiedOnly = try CgroupHost.detect(mountRoot: "/sys/fs/cgroup/unified")
            #expect(unifiedOnly.mode == .unified)
        }

        @Test
        func parsersOfCgroupFiles() {
            #expect(CPUList("0-3,7")?.members == [0, 1, 2, 3, 7])
            #expect(CPUList("3-1") == nil)
            #expect(CPUList("a") == nil)
            let keyed = CgroupFile.parseKeyed(Array("usage_usec 10\nnr_periods 3\nbad line\n".utf8))
            #expect(keyed["usage_usec"] == 10)
            #expect(keyed["nr_periods"] == 3)
            let io = V2Stats.ioStat("8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n253:1 rbytes=1\n")
            #expect(io == [CgroupStats.IODevice(major: 8, minor: 0, readBytes: 4096, writeBytes: 8192, readOperations: 1, writeOperations: 2),
                                CgroupStats.IODevice(major: 253, minor: 1, readBytes: 1)])
            #expect(HugePages.cgroupName(kilobytes: 2048) == "2MB")
            #expect(HugePages.cgroupName(kilobytes: 1_048_576) == "1GB")
            #expect(HugePages.cgroupName(kilobytes: 64) == "64KB")
            #expect(V2Limits.weight(shares: 1024) == 39)
            #expect(V2Limits.weight(shares: 2) == 1)
            #expect(V2Limits.weight(shares: 262_144) == 10000)
            #expect(V2Limits.ioWeight(blkio: 500) == 4950)
        }

        @Test
        func deviceRulesForV1() {
            let writes = DeviceRules.v1Writes([
                .init(allow: true, type: "c", major: 1, minor: 3, access: "rw"),
                .init(allow: true, type: "a", major: 136, minor: nil, access: "rwm"),
                .init(allow: false),
            ]).map { "\($0.file) \($0.line)" }
            #expect(writes == ["devices.deny a", "devices.allow c 1:3 rw", "devices.allow c 136:* rwm",
                                    "devices.allow b 136:* rwm", "devices.deny a"])
        }
    }
}
