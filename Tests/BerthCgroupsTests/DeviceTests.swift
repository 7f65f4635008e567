import Testing
import BerthLinux
import CBerth
@testable import BerthCgroups
#if canImport(Glibc)
import Glibc
#endif

/// Device rules: v1 devices.list, and the v2 BPF filter judged by what a process may open.
extension CgroupSuites {
    @Suite struct DeviceTests {
        /// /dev/null is c 1:3, /dev/zero is c 1:5.
        let zeroOnly: [Resources.DeviceRule] = [
            .init(allow: true, type: "c", major: 1, minor: 5, access: "rwm"),
        ]

        func run(_ script: String, in cgroup: Cgroup) throws -> (BerthLinux.ExitStatus?, String) {
            var shell = try GatedShell(script)
            defer { shell.close() }
            try cgroup.addProcess(shell.pid)
            shell.release()
            return try shell.finish()
        }

        @Test(.enabled(if: CgroupTestHost.rootOrCI, "needs root; in CI it runs and fails without it"))
        func bpfFilterInTheUnifiedHierarchyDeniesDevNull() throws {
            // Only the v2 hierarchy: the v1 devices controller stays out of it, so the BPF program
            // alone decides.
            let host = try CgroupHost.detect(mountRoot: FileSystem.isDirectory("/sys/fs/cgroup/unified") ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup")
            try withTestCgroup(Resources(devices: zeroOnly), host: host) { cgroup in
                #expect(cgroup.deviceFilterCount() == 1)
                let (denied, deniedOutput) = try run("echo x > /dev/null", in: cgroup)
                #expect(denied != .exited(0))
                #expect(deniedOutput.contains("Operation not permitted"), "\(deniedOutput)")
                let (allowed, allowedOutput) = try run("echo x > /dev/zero", in: cgroup)
                #expect(allowed == .exited(0), "\(allowedOutput)")

                // Update: replace the program, not add a second one; now /dev/null is fine.
                try cgroup.update(Resources(devices: zeroOnly + [.init(allow: true, type: "c", major: 1, minor: 3, access: "rw")]))
                #expect(cgroup.deviceFilterCount() == 1)
                let (now, nowOutput) = try run("echo x > /dev/null", in: cgroup)
                #expect(now == .exited(0), "\(nowOutput)")
            }
        }

        @Test(.enabled(if: CgroupTestHost.rootOrCI, "needs root; in CI it runs and fails without it"))
        func bpfDenyRulesRefuseOnlyTheirAccess() throws {
            let host = try CgroupHost.detect(mountRoot: FileSystem.isDirectory("/sys/fs/cgroup/unified") ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup")
            // Allow everything, then take write access to /dev/null away: last match wins.
            let rules: [Resources.DeviceRule] = [
                .init(allow: true),
                .init(allow: false, type: "c", major: 1, minor: 3, access: "w"),
            ]
            try withTestCgroup(Resources(devices: rules), host: host) { cgroup in
                let (read, readOutput) = try run("cat /dev/null", in: cgroup)
                #expect(read == .exited(0), "\(readOutput)")
                let (write, writeOutput) = try run("echo x > /dev/null", in: cgroup)
                #expect(write != .exited(0))
                #expect(writeOutput.contains("Operation not permitted"), "\(writeOutput)")
            }
        }

        @Test(.enabled(if: CgroupTestHost.rootOrCI, "needs root; in CI it runs and fails without it"), .enabled(if: CgroupTestHost.hasV1Devices, "needs a v1 devices controller"))
        func v1DevicesListAloneFiltersOnAHybridHost() throws {
            let host = try CgroupHost.detect()
            let rules = zeroOnly + [.init(allow: true, type: "c", major: 136, minor: nil, access: "rw")]
            try withTestCgroup(Resources(devices: rules)) { cgroup in
                let list = readFile(cgroup.directory(version: 1, controller: "devices")! + "/devices.list")
                #expect(list == "c 1:5 rwm\nc 136:* rw")
                // The v1 controller decides alone: no BPF program in the v2 tree.
                if host.mode == .hybrid { #expect(cgroup.deviceFilterCount() == 0) }
                let (status, output) = try run("echo x > /dev/null", in: cgroup)
                #expect(status != .exited(0))
                #expect(output.contains("Operation not permitted"), "\(output)")

                try cgroup.update(Resources(devices: [.init(allow: true)]))
                #expect(readFile(cgroup.directory(version: 1, controller: "devices")! + "/devices.list") == "a *:* rwm")
                let (after, afterOutput) = try run("echo x > /dev/null", in: cgroup)
                #expect(after == .exited(0), "\(afterOutput)")
            }
        }

        @Test(.enabled(if: CgroupTestHost.rootOrCI, "needs root; in CI it runs and fails without it"), .enabled(if: CgroupTestHost.hasV1Devices, "needs a v1 devices controller"))
        func v1UpdateNeverRefusesWhatStaysAllowed() throws {
            // /dev/zero is allowed before, during and after 1000 updates that add and remove
            // /dev/null; a loop inside opens it all along. Rewriting the list from "deny all"
            // would refuse it for the moment between the two writes.
            let withNull = zeroOnly + [.init(allow: true, type: "c", major: 1, minor: 3, access: "rw")]
            try withTestCgroup(Resources(devices: zeroOnly)) { cgroup in
                let devices = try #require(cgroup.directory(version: 1, controller: "devices"))
                let stop = "/tmp/berth-devices-\(UInt32.random(in: 0...UInt32.max))"
                defer { unlink(stop) }
                var shell = try GatedShell("n=0; while [ ! -e \(stop) ]; do n=$((n+1)); true < /dev/zero || echo REFUSED; done; echo loops=$n")
                defer { shell.close() }
                try cgroup.addProcess(shell.pid)
                shell.release()
                for round in 0..<1000 {
                    try cgroup.update(Resources(devices: round % 2 == 0 ? withNull : zeroOnly))
                }
                #expect(readFile(devices + "/devices.list") == "c 1:5 rwm")
                try cgroup.update(Resources(devices: withNull))
                #expect(Set(readFile(devices + "/devices.list").split(separator: "\n")) == ["c 1:3 rw", "c 1:5 rwm"])
                #expect(close(open(stop, O_CREAT | O_WRONLY, 0o644)) == 0)
                let (status, output) = try shell.finish()
                #expect(status == .exited(0), "\(output)")
                #expect(output.hasPrefix("loops="), "\(output)")
                #expect(!output.contains("REFUSED") && !output.contains("not permitted"), "\(output)")
            }
        }

        @Test
        func v1ExceptionListsAndTheirDifference() {
            // What the kernel keeps after deny-all and the writes, and the writes from one list to another.
            let rules: [Resources.DeviceRule] = [
                .init(allow: true, type: "c", major: 1, minor: 3, access: "rwm"),
                .init(allow: false, type: "c", major: 1, minor: 3, access: "w"),
                .init(allow: true, type: "a", major: 136, access: "rw"),
            ]
            let key = { (type: Character, major: Int64, minor: Int64) in DeviceRules.V1Key(type: type, major: major, minor: minor) }
            let target = DeviceRules.v1Exceptions(rules)
            #expect(target == [key("c", 1, 3): ["r", "m"], key("c", 136, -1): ["r", "w"], key("b", 136, -1): ["r", "w"]])
            #expect(DeviceRules.v1Exceptions([.init(allow: false), .init(allow: true)]) == nil)
            #expect(DeviceRules.parseV1List("a *:* rwm") == nil)
            #expect(DeviceRules.parseV1List("") == [:])
            let current = DeviceRules.parseV1List("c 1:3 rwm\nc 1:5 rwm")
            #expect(current == [key("c", 1, 3): ["r", "w", "m"], key("c", 1, 5): ["r", "w", "m"]])
            let writes = DeviceRules.v1Changes(from: current!, to: target!).map { "\($0.file) \($0.line)" }
            #expect(writes == ["devices.allow b 136:* rw", "devices.allow c 136:* rw",
                               "devices.deny c 1:3 w", "devices.deny c 1:5 rwm"])
            #expect(DeviceRules.v1Changes(from: target!, to: target!).isEmpty)
        }

        @Test
        func programShape() {
            // Everything-rules end the program early (the verifier refuses unreachable code).
            var program = [UInt64](repeating: 0, count: 64)
            let rules = DeviceRules.cRules([.init(allow: true), .init(allow: true, type: "c", major: 1, minor: 3, access: "r")])
            let length = rules.withUnsafeBufferPointer { buffer in
                program.withUnsafeMutableBytes { berth_device_filter_build(buffer.baseAddress, buffer.count, 0, $0.baseAddress, 64) }
            }
            // 6 prologue + 4 checks + 2 for the c 1:3 rule, then 2 for allow-all; no default tail.
            #expect(length == 14)
            let bad = DeviceRules.cRules([.init(allow: true, type: "c", major: -5)])
            let refused = bad.withUnsafeBufferPointer { buffer in
                program.withUnsafeMutableBytes { berth_device_filter_build(buffer.baseAddress, buffer.count, 0, $0.baseAddress, 64) }
            }
            #expect(refused == -1)
        }
    }
}
