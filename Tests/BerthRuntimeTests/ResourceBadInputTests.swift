import BerthLinux
import BerthOCI
import Foundation
import Testing

/// The bad limits issue 3 names, refused by `berth create` in one line naming the field, with no
/// state, cgroup, mount or process left (BadInputTests.refuse checks all of that). Runs on the
/// hybrid host and in the pure-v2 VM.
@Suite("Bad resource limits: one line naming the field, nothing created", .enabled(if: TestHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct ResourceBadInputTests {
    let check = BadInputTests()
    static let isUnified = FileSystem.exists("/sys/fs/cgroup/cgroup.controllers")

    @Test("a CPU quota below the kernel's 1 ms minimum, a burst above the quota, a throttle on a device that does not exist")
    func limitBelowWhatTheKernelAccepts() throws {
        try check.refuse("bad-quota", "config.json: linux.resources.cpu.quota: must be -1 (unlimited) or at least 1000 µs, got 500") {
            $0.linux?.resources?.cpu = .init(quota: 500, period: 100_000)
        }
        try check.refuse("bad-burst", "config.json: linux.resources.cpu.burst: must not exceed cpu.quota (20000), got 50000") {
            $0.linux?.resources?.cpu = .init(quota: 20_000, burst: 50_000, period: 100_000)
        }
        // Only the kernel knows which devices exist: it refuses once the cgroup is made, and
        // berth removes the cgroup again.
        let file = Self.isUnified ? "io.max" : "blkio.throttle.read_bps_device"
        let value = Self.isUnified ? "4095:4095 rbps=1048576" : "4095:4095 1048576"
        try check.refuse("bad-throttle", "config.json: linux.resources.blockIO.throttleReadBpsDevice[0]: writing \(value) to \(file) failed: No such device") {
            $0.linux?.resources?.blockIO = .init(throttleReadBpsDevice: [.init(major: 4095, minor: 4095, rate: 1 << 20)])
        }
    }

    @Test("an unknown unified key")
    func unknownUnifiedKey() throws {
        try check.refuse("bad-unified", "config.json: linux.resources.unified: unknown key \"foo.bar\"") {
            $0.linux?.resources?.unified = ["foo.bar": "1"]
        }
        if Self.isUnified {
            // A real controller, a file it does not have: found out once the cgroup exists.
            try check.refuse("bad-unified-file", "config.json: linux.resources.unified: unknown key \"memory.nosuchfile\"") {
                $0.linux?.resources?.unified = ["memory.nosuchfile": "1"]
            }
        } else {
            try check.refuse("bad-unified-v1", "config.json: linux.resources.unified: \"memory.high\": memory is not a v2 controller here (it is mounted as cgroup v1)") {
                $0.linux?.resources?.unified = ["memory.high": "1000000"]
            }
        }
    }

    @Test("a device rule with a bad type")
    func badDeviceType() throws {
        try check.refuse("bad-devtype", "config.json: linux.resources.devices[1].type: unknown device type \"x\" (expected a, c or b)") {
            $0.linux?.resources?.devices = [.init(allow: false, access: "rwm"), .init(allow: true, type: "x", major: 1, minor: 3, access: "rw")]
        }
    }

    @Test("a cpuset naming CPUs this machine does not have")
    func absentCPUs() throws {
        let online = try FileSystem.readString("/sys/devices/system/cpu/online").trimmingCharacters(in: .whitespacesAndNewlines)
        try check.refuse("bad-cpus", "config.json: linux.resources.cpu.cpus: CPU 4096 is not online (online: \(online))") {
            $0.linux?.resources?.cpu = .init(cpus: "0,4096")
        }
    }
}
