import Foundation
import Testing
import BerthAPI
import BerthLinux
import BerthOCI
@testable import BerthAgent

/// A fake machine: `<root>/proc` and `<root>/sys` files as the kernel writes them.
struct FakeMachine {
    let root: String

    init(files: [String: String] = FakeMachine.standardFiles) throws {
        root = NSTemporaryDirectory() + "berth-inventory-" + UUID().uuidString
        for (path, text) in files { try write(path, text) }
    }

    func write(_ path: String, _ text: String) throws {
        let full = root + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }

    static let standardFiles: [String: String] = [
        "proc/meminfo": "MemTotal:       16384000 kB\nMemFree:         1000000 kB\nMemAvailable:    9000000 kB\n",
        "proc/cpuinfo": "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Test CPU @ 2.00GHz\n\nprocessor\t: 1\nmodel name\t: Test CPU @ 2.00GHz\n",
        "proc/self/status": "Name:\tberthd\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\n",
        "proc/sys/kernel/hostname": "node-7\n",
        "proc/sys/kernel/osrelease": "6.1.0-test-amd64\n",
        "proc/sys/kernel/arch": "aarch64\n",
        "proc/sys/kernel/random/boot_id": "5f1e2d3c-0000-4000-8000-123456789abc\n",
        "sys/devices/system/cpu/online": "0-7\n",
        "sys/devices/system/node/node0/cpulist": "0-3\n",
        "sys/devices/system/node/node0/meminfo": "Node 0 MemTotal:        8192000 kB\nNode 0 MemFree:  1 kB\n",
        "sys/devices/system/node/node1/cpulist": "4-7\n",
        "sys/devices/system/node/node1/meminfo": "Node 1 MemTotal:        8192000 kB\n",
        "sys/devices/system/node/possible": "0-1\n",
    ]
}

func inventoryFailure(_ body: () throws(InventoryError) -> Inventory) -> String? {
    switch Result(catching: body) {
    case .success: return nil
    case .failure(let error): return error.description
    }
}

@Suite("Inventory: the machine from /proc and /sys")
struct InventoryTests {
    @Test func parsersReadKernelFormats() {
        #expect(HostFacts.parseCPUList("0-3,8,10-11\n") == [0, 1, 2, 3, 8, 10, 11])
        #expect(HostFacts.parseCPUList("0\n") == [0])
        #expect(HostFacts.parseCPUList("\n") == [])
        #expect(HostFacts.parseCPUList("3-1") == nil)
        #expect(HostFacts.parseCPUList("0-") == nil)
        #expect(HostFacts.parseCPUList("0,,1") == nil)
        #expect(HostFacts.parseCPUList("0-99999999") == nil)
        #expect(HostFacts.parseCPUModel("Processor\t: ARMv7 rev 4 (v7l)\nmodel name\t: \n") == "ARMv7 rev 4 (v7l)")
        #expect(HostFacts.parseCPUModel("processor : 0\n") == nil)
        #expect(HostFacts.parseMeminfo("MemFree: 1 kB\nMemTotal:  2048 kB\n", key: "MemTotal") == 2048)
        #expect(HostFacts.parseMeminfo("Node 3 MemTotal:  4096 kB\n", key: "MemTotal") == 4096)
        #expect(HostFacts.parseMeminfo("MemTotal: lots\n", key: "MemTotal") == nil)
        #expect(HostFacts.parseAllowedCPUs("Cpus_allowed_list:\t0-2,5\n") == [0, 1, 2, 5])
    }

    @Test func fixtureMachineIsReadExactly() throws {
        let machine = try FakeMachine()
        defer { machine.remove() }
        let inventory = try Inventory.detect(stateDir: machine.root + "/state/not/yet/created", sources: .fixture(machine.root))
        #expect(inventory.cpus == 8)
        #expect(inventory.cpuModel == "Test CPU @ 2.00GHz")
        #expect(inventory.numaNodes == [NUMANode(id: 0, cpuList: "0-3", memoryMiB: 8000), NUMANode(id: 1, cpuList: "4-7", memoryMiB: 8000)])
        #expect(inventory.memoryTotalMiB == 16000)
        #expect(inventory.hostname == "node-7")
        #expect(inventory.kernelRelease == "6.1.0-test-amd64")
        #expect(inventory.arch == "aarch64")
        #expect(inventory.bootId == "5f1e2d3c-0000-4000-8000-123456789abc")
        #expect(inventory.gpus.isEmpty)
        #expect(inventory.diskTotalMiB > 0)
        #expect(inventory.attributes == ["os": "linux", "arch": "aarch64", "kernel": "6.1.0-test-amd64", "hostname": "node-7",
                                         "bootId": "5f1e2d3c-0000-4000-8000-123456789abc"])

        let total = try inventory.totalResources()
        #expect(total.scalar("cpus") == 8)
        #expect(total.scalar("mem") == 16000 - 1024)
        #expect(total.scalar("disk") == Double(max(0, inventory.diskTotalMiB - 5120)))
        #expect(total.scalar("gpus") == 0)
        #expect(total.ranges("ports") == RangeList([31000...32000]))
        #expect(total.roles == ["*"])

        var withAffinity = InventorySources.fixture(machine.root)
        withAffinity.useAffinity = true
        #expect(try Inventory.detect(stateDir: machine.root, sources: withAffinity).cpus == 2)
    }

    @Test func operatorConfigOverridesReservesAndAddsAttributes() throws {
        let machine = try FakeMachine()
        defer { machine.remove() }
        let config = try OCIJSON.decode(InventoryConfig.self, from: Data("""
            {"portRanges": [{"begin": 20000, "end": 20099}, {"begin": 20100, "end": 20199}],
             "attributes": {"rack": "r12", "os": "debian"},
             "reservations": [{"name": "cpus", "type": "scalar", "scalar": 2, "role": "web"},
                              {"name": "ports", "type": "ranges", "ranges": [{"begin": 20000, "end": 20009}], "role": "web"}],
             "memoryReservedMiB": 2000, "diskMiB": 100}
            """.utf8), source: "berthd.json", rejectingUnknownFields: true)
        let inventory = try Inventory.detect(stateDir: machine.root, config: config, sources: .fixture(machine.root))
        let total = try inventory.totalResources()
        var expected = ResourceSet.scalar("cpus", 6)
        expected.add(.scalar("cpus", 2, role: "web"))
        expected.add(.scalar("mem", 14000))
        expected.add(.scalar("disk", 100))
        expected.add(.ranges("ports", RangeList([20010...20199])))
        expected.add(.ranges("ports", RangeList([20000...20009]), role: "web"))
        #expect(total == expected)
        #expect(inventory.attributes["rack"] == "r12")
        #expect(inventory.attributes["os"] == "debian")
        #expect(inventory.details.portRanges == [ValueRange(begin: 20000, end: 20099), ValueRange(begin: 20100, end: 20199)])

        var greedy = InventoryConfig(reservations: [.scalar("cpus", 9, role: "web")])
        let tooMuch = try Inventory.detect(stateDir: machine.root, config: greedy, sources: .fixture(machine.root))
        #expect(apiFailure { () throws(APIError) in try tooMuch.totalResources() }?.description
            == "inventory.reservations[0]: needs cpus 9 but 8 are available")

        greedy = InventoryConfig(memoryReservedMiB: 1 << 30)
        #expect(try Inventory.detect(stateDir: machine.root, config: greedy, sources: .fixture(machine.root)).offeredMemoryMiB == 0)
    }

    @Test func badConfigAndBrokenMachinesAreOneLineErrors() throws {
        let machine = try FakeMachine()
        defer { machine.remove() }
        let sources = InventorySources.fixture(machine.root)
        let badPorts = InventoryConfig(portRanges: [ValueRange(begin: 0, end: 10)])
        #expect(inventoryFailure { () throws(InventoryError) in try Inventory.detect(stateDir: machine.root, config: badPorts, sources: sources) }
            == "config: inventory.portRanges[0]: must be a range within 1-65535 with begin <= end, got 0-10")
        let starRole = InventoryConfig(reservations: [.scalar("cpus", 1)])
        #expect(inventoryFailure { () throws(InventoryError) in try Inventory.detect(stateDir: machine.root, config: starRole, sources: sources) }
            == #"config: inventory.reservations[0].role: must name the role to reserve for, not "*""#)
        let badAttribute = InventoryConfig(attributes: ["bad name": "x"])
        #expect(inventoryFailure { () throws(InventoryError) in try Inventory.detect(stateDir: machine.root, config: badAttribute, sources: sources) }
            == #"config: inventory.attributes["bad name"]: attribute names must match [a-zA-Z][a-zA-Z0-9_.-]{0,63}"#)

        let unknown = apiFailure { () throws(APIError) in
            try APIJSON.decode(InventoryConfig.self, from: Data(#"{"portRange": {"begin": 1, "end": 2}}"#.utf8))
        }
        #expect(unknown?.description == "portRange: unknown field")

        try machine.write("sys/devices/system/cpu/online", "garbage\n")
        #expect(inventoryFailure { () throws(InventoryError) in try Inventory.detect(stateDir: machine.root, sources: sources) }
            == "\(machine.root)/sys/devices/system/cpu/online: not a CPU list: garbage")
        try machine.write("sys/devices/system/cpu/online", "0-1\n")
        try machine.write("proc/meminfo", "MemFree: 1 kB\n")
        #expect(inventoryFailure { () throws(InventoryError) in try Inventory.detect(stateDir: machine.root, sources: sources) }
            == "\(machine.root)/proc/meminfo: no MemTotal line")
        try FileManager.default.removeItem(atPath: machine.root + "/proc/meminfo")
        #expect(inventoryFailure { () throws(InventoryError) in try Inventory.detect(stateDir: machine.root, sources: sources) }
            == "cannot read \(machine.root)/proc/meminfo")
    }

    @Test func realMachineValuesMatchWhatTheKernelSays() throws {
        let stateDir = NSTemporaryDirectory() + "berth-inventory-real-" + UUID().uuidString
        let inventory = try Inventory.detect(stateDir: stateDir)
        let online = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        #expect(inventory.cpus >= 1)
        #expect(inventory.cpus <= online)

        let meminfo = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
        let memLine = meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }!
        let memKiB = Int(memLine.split(separator: " ")[1])!
        #expect(inventory.memoryTotalMiB == memKiB / 1024)

        // The state dir does not exist yet: its nearest ancestor's filesystem counts.
        let attributes = try FileManager.default.attributesOfFileSystem(forPath: NSTemporaryDirectory())
        let diskBytes = (attributes[.systemSize] as! NSNumber).uint64Value
        #expect(UInt64(inventory.diskTotalMiB) == diskBytes / (1024 * 1024))

        var names = utsname()
        uname(&names)
        let release = withUnsafeBytes(of: &names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let machine = withUnsafeBytes(of: &names.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        #expect(inventory.kernelRelease == release)
        #expect(inventory.arch == machine)
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count)
        let hostname = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #expect(inventory.hostname == hostname)
        let bootId = try String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(inventory.bootId == bootId)
        #expect(inventory.bootId.count == 36)
        if FileManager.default.fileExists(atPath: "/sys/devices/system/node/node0") {
            #expect(!inventory.numaNodes.isEmpty)
            #expect(inventory.numaNodes[0].id == 0)
        }

        let total = try inventory.totalResources()
        #expect(total.scalar("mem") == Double(max(0, memKiB / 1024 - 1024)))
        #expect(total.scalar("cpus") == Double(inventory.cpus))
        #expect(total.ranges("ports") == RangeList([31000...32000]))

        let info = try inventory.agentInfo(id: "agent-1", version: "0.1.0", startedAt: 1_700_000_000)
        let again = try OCIJSON.decode(AgentInfo.self, from: try OCIJSON.encode(info), source: "agent", rejectingUnknownFields: true)
        #expect(again == info)
        #expect(info.resources.first { $0.name == "cpus" }?.scalar == Double(inventory.cpus))
    }

    @Test(.enabled(if: getuid() == 0 || ProcessInfo.processInfo.environment["CI"] == "true",
                   "needs root; in CI (CI=true) it runs and fails without it"))
    func gpusOfAFakeDiscoveryRootAreOffered() throws {
        let machine = try FakeMachine()
        defer { machine.remove() }
        try FileManager.default.createDirectory(atPath: machine.root + "/dev", withIntermediateDirectories: true)
        let made = try ChildProcess(path: "/bin/mknod", arguments: ["/bin/mknod", "-m", "666", machine.root + "/dev/nvidia0", "c", "195", "0"]).run()
        #expect(made.status.shellCode == 0, "mknod: \(made.standardErrorText)")
        try machine.write("proc/driver/nvidia/gpus/0000:00:1e.0/information", "Model:           Tesla T4\nGPU UUID:        GPU-1234\nDevice Minor:    0\n")
        let inventory = try Inventory.detect(stateDir: machine.root, sources: .fixture(machine.root))
        #expect(inventory.gpus.count == 1)
        #expect(inventory.gpuIndices == [0])
        #expect(try inventory.totalResources().scalar("gpus") == 1)
        #expect(inventory.details.gpus == [GPUDetails(index: 0, vendor: "nvidia", name: "Tesla T4", uuid: "GPU-1234")])
    }
}
