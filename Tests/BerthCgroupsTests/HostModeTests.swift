import XCTest
import Foundation
import BerthLinux
@testable import BerthCgroups

final class HostModeTests: XCTestCase {
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

    func testParsesAHybridHost() {
        let host = CgroupHost.parse(mountInfo: hybridMounts, procCgroup: hybridSelf) { _ in ["hugetlb", "pids"] }
        XCTAssertEqual(host.mode, .hybrid)
        XCTAssertEqual(host.legacy.map(\.mountPoint), ["/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/systemd"])
        XCTAssertEqual(host.hierarchy(for: "memory")?.ownPath, "/process_api/abc")
        XCTAssertEqual(host.hierarchy(for: "cpu")?.controllers, ["cpu", "cpuacct"])
        XCTAssertEqual(host.hierarchy(for: "cpu")?.ownPath, "/")
        XCTAssertEqual(host.legacy.last?.controllers, ["name=systemd"])
        // pids is bound to v1, so v2 drives only hugetlb; the freezer outside the root is ignored.
        XCTAssertEqual(host.unified?.controllers, ["hugetlb"])
        XCTAssertEqual(host.unified?.ownPath, "/user.slice/session.scope")
        XCTAssertEqual(host.hierarchy(for: "hugetlb")?.version, 2)
        XCTAssertNil(host.hierarchy(for: "freezer"))
    }

    func testParsesUnifiedAndLegacyHosts() {
        let unified = CgroupHost.parse(
            mountInfo: "25 21 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot",
            procCgroup: "0::/system.slice/berthd.service\n") { _ in ["cpuset", "cpu", "io", "memory", "pids"] }
        XCTAssertEqual(unified.mode, .unified)
        XCTAssertEqual(unified.hierarchy(for: "io")?.mountPoint, "/sys/fs/cgroup")
        XCTAssertEqual(unified.unified?.ownPath, "/system.slice/berthd.service")

        let legacy = CgroupHost.parse(mountInfo: hybridMounts.split(separator: "\n").dropLast(2).joined(separator: "\n"),
                                      procCgroup: hybridSelf) { _ in [] }
        XCTAssertEqual(legacy.mode, .legacy)
        XCTAssertNil(legacy.unified)
    }

    func testMountRootLimitsWhatIsSeen() {
        let onlyV2 = CgroupHost.parse(mountInfo: hybridMounts, procCgroup: hybridSelf, mountRoot: "/sys/fs/cgroup/unified") { _ in ["hugetlb"] }
        XCTAssertEqual(onlyV2.mode, .unified)
        XCTAssertEqual(onlyV2.hierarchies.count, 1)
        let escaped = CgroupHost.parse(mountInfo: hybridMounts, procCgroup: "", mountRoot: "/mnt/other dir") { _ in [] }
        XCTAssertEqual(escaped.hierarchies.first?.mountPoint, "/mnt/other dir")
    }

    func testSubtreeMountsMapPaths() {
        let hierarchy = Hierarchy(version: 1, mountPoint: "/sys/fs/cgroup/memory", mountRoot: "/docker/abc", controllers: ["memory"], ownPath: "/docker/abc/x")
        XCTAssertEqual(hierarchy.directory(of: "/docker/abc/x/berth/1"), "/sys/fs/cgroup/memory/x/berth/1")
        XCTAssertNil(hierarchy.directory(of: "/other"))
    }

    func testPathRules() throws {
        let host = CgroupHost.parse(mountInfo: hybridMounts, procCgroup: hybridSelf) { _ in ["hugetlb"] }
        let relative = try Cgroup.resolve(host: host, cgroupsPath: "", containerID: "c1")
        XCTAssertEqual(relative.cgroupsPath, "berth/c1")
        XCTAssertEqual(relative.directory(version: 1, controller: "memory"), "/sys/fs/cgroup/memory/process_api/abc/berth/c1")
        XCTAssertEqual(relative.directory(version: 1, controller: "pids"), "/sys/fs/cgroup/pids/berth/c1")
        XCTAssertEqual(relative.directory(version: 2), "/sys/fs/cgroup/unified/user.slice/session.scope/berth/c1")

        let absolute = try Cgroup.resolve(host: host, cgroupsPath: "/berth/abc", containerID: "x")
        XCTAssertEqual(absolute.directory(version: 1, controller: "memory"), "/sys/fs/cgroup/memory/berth/abc")
        XCTAssertEqual(absolute.directory(version: 2), "/sys/fs/cgroup/unified/berth/abc")
        XCTAssertTrue(absolute.created.isEmpty)

        XCTAssertEqual(errorText { _ = try Cgroup.resolve(host: host, cgroupsPath: "berth/../../etc", containerID: "x") },
                       "linux.cgroupsPath: \"berth/../../etc\" has a \"..\" component; cgroup paths may not leave their parent")
        XCTAssertNotNil(errorText { _ = try Cgroup.resolve(host: host, cgroupsPath: "/", containerID: "x") })
    }

    func testCgroupIsCodable() throws {
        let host = CgroupHost.parse(mountInfo: hybridMounts, procCgroup: hybridSelf) { _ in ["hugetlb"] }
        var cgroup = try Cgroup.resolve(host: host, cgroupsPath: "berth/c1", containerID: "c1")
        cgroup.created = ["/sys/fs/cgroup/pids/berth", "/sys/fs/cgroup/pids/berth/c1"]
        let data = try JSONEncoder().encode(cgroup)
        XCTAssertEqual(try JSONDecoder().decode(Cgroup.self, from: data), cgroup)
    }

    func testDetectsThisHost() throws {
        let host = try CgroupHost.detect()
        guard host.mode == .hybrid else { throw XCTSkip("this host is \(host.mode), the checks below describe the hybrid build machine") }
        XCTAssertEqual(host.hierarchy(for: "memory")?.version, 1)
        XCTAssertEqual(host.hierarchy(for: "hugetlb")?.version, 2)
        XCTAssertEqual(host.unified?.mountPoint, "/sys/fs/cgroup/unified")
        let unifiedOnly = try CgroupHost.detect(mountRoot: "/sys/fs/cgroup/unified")
        XCTAssertEqual(unifiedOnly.mode, .unified)
    }

    func testParsersOfCgroupFiles() {
        XCTAssertEqual(CPUList("0-3,7")?.members, [0, 1, 2, 3, 7])
        XCTAssertNil(CPUList("3-1"))
        XCTAssertNil(CPUList("a"))
        let keyed = CgroupFile.parseKeyed(Array("usage_usec 10\nnr_periods 3\nbad line\n".utf8))
        XCTAssertEqual(keyed["usage_usec"], 10)
        XCTAssertEqual(keyed["nr_periods"], 3)
        let io = V2Stats.ioStat("8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n253:1 rbytes=1\n")
        XCTAssertEqual(io, [CgroupStats.IODevice(major: 8, minor: 0, readBytes: 4096, writeBytes: 8192, readOperations: 1, writeOperations: 2),
                            CgroupStats.IODevice(major: 253, minor: 1, readBytes: 1)])
        XCTAssertEqual(HugePages.cgroupName(kilobytes: 2048), "2MB")
        XCTAssertEqual(HugePages.cgroupName(kilobytes: 1_048_576), "1GB")
        XCTAssertEqual(HugePages.cgroupName(kilobytes: 64), "64KB")
        XCTAssertEqual(V2Limits.weight(shares: 1024), 39)
        XCTAssertEqual(V2Limits.weight(shares: 2), 1)
        XCTAssertEqual(V2Limits.weight(shares: 262_144), 10000)
        XCTAssertEqual(V2Limits.ioWeight(blkio: 500), 4950)
    }

    func testDeviceRulesForV1() {
        let writes = DeviceRules.v1Writes([
            .init(allow: true, type: "c", major: 1, minor: 3, access: "rw"),
            .init(allow: true, type: "a", major: 136, minor: nil, access: "rwm"),
            .init(allow: false),
        ]).map { "\($0.file) \($0.line)" }
        XCTAssertEqual(writes, ["devices.deny a", "devices.allow c 1:3 rw", "devices.allow c 136:* rwm",
                                "devices.allow b 136:* rwm", "devices.deny a"])
    }
}
