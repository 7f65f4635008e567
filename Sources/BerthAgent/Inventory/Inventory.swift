import BerthAPI
import BerthLinux
import BerthRuntime

/// Where the inventory reads the machine from. Tests point the roots at fixture trees.
public struct InventorySources: Sendable {
    public var procRoot: String
    public var sysRoot: String
    /// Root for GPU discovery (see `GPUInventory.scan`).
    public var gpuRoot: String
    /// Count CPUs from this process's affinity mask (`<procRoot>/self/status`) rather than
    /// `<sysRoot>/devices/system/cpu/online`.
    public var useAffinity: Bool

    public init(procRoot: String = "/proc", sysRoot: String = "/sys", gpuRoot: String = "/", useAffinity: Bool = true) {
        self.procRoot = procRoot
        self.sysRoot = sysRoot
        self.gpuRoot = gpuRoot
        self.useAffinity = useAffinity
    }

    /// Fixture trees: `<root>/proc` and `<root>/sys`, no affinity, GPUs below `root`.
    public static func fixture(_ root: String) -> InventorySources {
        InventorySources(procRoot: root + "/proc", sysRoot: root + "/sys", gpuRoot: root, useAffinity: false)
    }
}

/// Why the machine could not be inventoried, in one line.
public struct InventoryError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The machine as berthd sees it: detected hardware, operator settings, and from them the
/// resources it offers.
public struct Inventory: Sendable, Equatable {
    public var cpus: Int
    public var cpuModel: String?
    public var numaNodes: [NUMANode]
    public var memoryTotalMiB: Int
    public var diskTotalMiB: Int
    public var stateDir: String
    public var gpus: [GPU]
    public var hostname: String
    public var kernelRelease: String
    public var arch: String
    public var bootId: String
    public var config: InventoryConfig

    public init(cpus: Int, cpuModel: String? = nil, numaNodes: [NUMANode] = [], memoryTotalMiB: Int, diskTotalMiB: Int,
                stateDir: String, gpus: [GPU] = [], hostname: String, kernelRelease: String = "", arch: String = "",
                bootId: String = "", config: InventoryConfig = InventoryConfig()) {
        self.cpus = cpus
        self.cpuModel = cpuModel
        self.numaNodes = numaNodes
        self.memoryTotalMiB = memoryTotalMiB
        self.diskTotalMiB = diskTotalMiB
        self.stateDir = stateDir
        self.gpus = gpus
        self.hostname = hostname
        self.kernelRelease = kernelRelease
        self.arch = arch
        self.bootId = bootId
        self.config = config
    }

    /// Reads the machine. Fails only when something every Linux has is missing or unreadable
    /// (/proc/meminfo, the CPU count, the state dir's filesystem) or the config is invalid.
    public static func detect(stateDir: String, config: InventoryConfig = InventoryConfig(),
                              sources: InventorySources = InventorySources()) throws(InventoryError) -> Inventory {
        do {
            try config.validate(at: "inventory")
        } catch {
            throw InventoryError("config: \(error.description)")
        }
        let proc = sources.procRoot, sys = sources.sysRoot
        let online = "\(sys)/devices/system/cpu/online"
        var cpuCount: Int?
        if sources.useAffinity, let status = try? FileSystem.readString("\(proc)/self/status"),
           let allowed = HostFacts.parseAllowedCPUs(status), !allowed.isEmpty {
            cpuCount = allowed.count
        }
        if cpuCount == nil {
            guard let text = try? FileSystem.readString(online) else { throw InventoryError("cannot read \(online)") }
            guard let list = HostFacts.parseCPUList(text), !list.isEmpty else {
                throw InventoryError("\(online): not a CPU list: \(text.trimmingCharacters(in: " \n").prefix(80))")
            }
            cpuCount = list.count
        }
        let meminfoPath = "\(proc)/meminfo"
        guard let meminfo = try? FileSystem.readString(meminfoPath) else { throw InventoryError("cannot read \(meminfoPath)") }
        guard let memKiB = HostFacts.parseMeminfo(meminfo, key: "MemTotal") else {
            throw InventoryError("\(meminfoPath): no MemTotal line")
        }
        let diskBytes: UInt64
        do {
            diskBytes = try HostFacts.filesystemSize(of: stateDir)
        } catch {
            throw InventoryError("state dir \(stateDir): \(error)")
        }
        let cpuModel = (try? FileSystem.readString("\(proc)/cpuinfo")).flatMap(HostFacts.parseCPUModel)
        func kernelFact(_ name: String) -> String {
            ((try? FileSystem.readString("\(proc)/sys/kernel/\(name)")) ?? "").trimmingCharacters(in: " \n")
        }
        var arch = kernelFact("arch")
        if arch.isEmpty && proc == "/proc" { arch = HostFacts.unameMachine() }
        return Inventory(
            cpus: cpuCount!, cpuModel: cpuModel, numaNodes: numaNodes(sysRoot: sys),
            memoryTotalMiB: Int(memKiB / 1024), diskTotalMiB: Int(diskBytes / (1024 * 1024)), stateDir: stateDir,
            gpus: GPUInventory.scan(root: sources.gpuRoot).gpus, hostname: kernelFact("hostname"),
            kernelRelease: kernelFact("osrelease"), arch: arch, bootId: kernelFact("random/boot_id"), config: config)
    }

    /// `<sysRoot>/devices/system/node/nodeN` with their CPU lists and memory, sorted by N.
    static func numaNodes(sysRoot: String) -> [NUMANode] {
        let directory = "\(sysRoot)/devices/system/node"
        var nodes: [NUMANode] = []
        for name in (try? FileSystem.listDirectory(directory)) ?? [] where name.hasPrefix("node") {
            guard let id = Int(name.dropFirst(4)), id >= 0 else { continue }
            let cpuList = ((try? FileSystem.readString("\(directory)/\(name)/cpulist")) ?? "").trimmingCharacters(in: " \n")
            let memKiB = (try? FileSystem.readString("\(directory)/\(name)/meminfo")).flatMap { HostFacts.parseMeminfo($0, key: "MemTotal") }
            nodes.append(NUMANode(id: id, cpuList: cpuList, memoryMiB: memKiB.map { Int($0 / 1024) }))
        }
        return nodes.sorted { $0.id < $1.id }
    }

    // MARK: what is offered

    /// Memory offered: detected minus what is kept for the system (or the override), never negative.
    public var offeredMemoryMiB: Int { config.memoryMiB ?? max(0, memoryTotalMiB - config.memoryReservedMiB) }
    public var offeredDiskMiB: Int { config.diskMiB ?? max(0, diskTotalMiB - config.diskReservedMiB) }
    public var offeredCPUs: Double { config.cpus ?? Double(cpus) }

    /// Everything berthd offers, with the static reservations moved to their roles.
    /// Throws when a reservation asks for more than there is (naming it).
    public func totalResources() throws(APIError) -> ResourceSet {
        var unreserved = ResourceSet.scalar(ResourceName.cpus, offeredCPUs)
            + .scalar(ResourceName.mem, Double(offeredMemoryMiB))
            + .scalar(ResourceName.disk, Double(offeredDiskMiB))
            + .scalar(ResourceName.gpus, Double(gpus.count))
            + .ranges(ResourceName.ports, RangeList(config.portRanges.map { $0.begin...$0.end }))
        var reserved = ResourceSet()
        for (i, reservation) in config.reservations.enumerated() {
            let field = FieldPath.index("inventory.reservations", i)
            let wanted = try ResourceSet([reservation], at: field)
            do {
                try unreserved.subtract(wanted.withRole("*"))
            } catch {
                throw .badRequest(field, error.message("available"))
            }
            reserved.add(wanted)
        }
        return unreserved + reserved
    }

    /// Attributes sent with offers: os, arch, kernel, hostname, bootId, then the operator's
    /// (which win on a name clash).
    public var attributes: [String: String] {
        var result = ["os": "linux", "arch": arch, "kernel": kernelRelease, "hostname": hostname, "bootId": bootId]
        result = result.filter { !$0.value.isEmpty }
        for (key, value) in config.attributes { result[key] = value }
        return result
    }

    /// GPU indices (as `berth gpus` numbers them), for the offer book to hand out.
    public var gpuIndices: [Int] { gpus.map(\.index) }

    public var details: InventoryDetails {
        InventoryDetails(
            cpus: cpus, cpuModel: cpuModel, numaNodes: numaNodes, memoryTotalMiB: memoryTotalMiB,
            diskTotalMiB: diskTotalMiB, stateDir: stateDir,
            gpus: gpus.map { GPUDetails(index: $0.index, vendor: $0.vendor.rawValue, name: $0.name, uuid: $0.uuid,
                                        memoryMiB: $0.memoryBytes.map { Int($0 / (1024 * 1024)) }) },
            portRanges: config.portRanges, memoryReservedMiB: config.memoryReservedMiB,
            diskReservedMiB: config.diskReservedMiB)
    }

    /// `berth agent info`.
    public func agentInfo(id: String, version: String, startedAt: Double) throws(APIError) -> AgentInfo {
        AgentInfo(id: id, hostname: hostname, version: version, startedAt: startedAt,
                  resources: try totalResources().resources, attributes: attributes, inventory: details)
    }
}
