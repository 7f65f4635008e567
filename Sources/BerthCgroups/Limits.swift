import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// Berth's own mirror of OCI `linux.resources`; the runtime maps the spec onto it.
/// nil (or empty) means "leave as it is": on create that is the parent's setting.
public struct Resources: Sendable, Equatable, Codable {
    public var cpu: CPU?
    public var memory: Memory?
    public var pids: Pids?
    public var blockIO: BlockIO?
    public var hugepageLimits: [HugepageLimit]
    /// nil leaves device access alone; [] denies every device.
    public var devices: [DeviceRule]?
    /// Raw cgroup v2 files, written last (after every mapped field).
    public var unified: [String: String]

    public init(cpu: CPU? = nil, memory: Memory? = nil, pids: Pids? = nil, blockIO: BlockIO? = nil,
                hugepageLimits: [HugepageLimit] = [], devices: [DeviceRule]? = nil, unified: [String: String] = [:]) {
        self.cpu = cpu
        self.memory = memory
        self.pids = pids
        self.blockIO = blockIO
        self.hugepageLimits = hugepageLimits
        self.devices = devices
        self.unified = unified
    }

    public struct CPU: Sendable, Equatable, Codable {
        public var shares: UInt64?
        /// Microseconds per period; -1 = unlimited.
        public var quota: Int64?
        public var burst: UInt64?
        public var period: UInt64?
        public var realtimeRuntime: Int64?
        public var realtimePeriod: UInt64?
        public var cpus: String?
        public var mems: String?
        public var idle: Int64?
        public init(shares: UInt64? = nil, quota: Int64? = nil, burst: UInt64? = nil, period: UInt64? = nil,
                    realtimeRuntime: Int64? = nil, realtimePeriod: UInt64? = nil, cpus: String? = nil,
                    mems: String? = nil, idle: Int64? = nil) {
            self.shares = shares; self.quota = quota; self.burst = burst; self.period = period
            self.realtimeRuntime = realtimeRuntime; self.realtimePeriod = realtimePeriod
            self.cpus = cpus; self.mems = mems; self.idle = idle
        }
    }

    public struct Memory: Sendable, Equatable, Codable {
        /// Bytes; -1 = unlimited.
        public var limit: Int64?
        public var reservation: Int64?
        /// memory + swap, as OCI (and v1) count it; -1 = unlimited.
        public var swap: Int64?
        /// 0...100; UInt64.max (OCI's -1) = inherit.
        public var swappiness: UInt64?
        public var disableOOMKiller: Bool?
        /// Deprecated by the kernel (writes have no effect); accepted and ignored.
        public var kernel: Int64?
        public var kernelTCP: Int64?
        public init(limit: Int64? = nil, reservation: Int64? = nil, swap: Int64? = nil, swappiness: UInt64? = nil,
                    disableOOMKiller: Bool? = nil, kernel: Int64? = nil, kernelTCP: Int64? = nil) {
            self.limit = limit; self.reservation = reservation; self.swap = swap; self.swappiness = swappiness
            self.disableOOMKiller = disableOOMKiller; self.kernel = kernel; self.kernelTCP = kernelTCP
        }
    }

    public struct Pids: Sendable, Equatable, Codable {
        /// ≤ 0 = unlimited.
        public var limit: Int64
        public init(limit: Int64) { self.limit = limit }
    }

    public struct BlockIO: Sendable, Equatable, Codable {
        public var weight: UInt16?
        public var leafWeight: UInt16?
        public var weightDevice: [WeightDevice]
        public var throttleReadBpsDevice: [ThrottleDevice]
        public var throttleWriteBpsDevice: [ThrottleDevice]
        public var throttleReadIOPSDevice: [ThrottleDevice]
        public var throttleWriteIOPSDevice: [ThrottleDevice]
        public init(weight: UInt16? = nil, leafWeight: UInt16? = nil, weightDevice: [WeightDevice] = [],
                    throttleReadBpsDevice: [ThrottleDevice] = [], throttleWriteBpsDevice: [ThrottleDevice] = [],
                    throttleReadIOPSDevice: [ThrottleDevice] = [], throttleWriteIOPSDevice: [ThrottleDevice] = []) {
            self.weight = weight; self.leafWeight = leafWeight; self.weightDevice = weightDevice
            self.throttleReadBpsDevice = throttleReadBpsDevice; self.throttleWriteBpsDevice = throttleWriteBpsDevice
            self.throttleReadIOPSDevice = throttleReadIOPSDevice; self.throttleWriteIOPSDevice = throttleWriteIOPSDevice
        }
    }

    public struct WeightDevice: Sendable, Equatable, Codable {
        public var major: Int64
        public var minor: Int64
        public var weight: UInt16?
        public var leafWeight: UInt16?
        public init(major: Int64, minor: Int64, weight: UInt16? = nil, leafWeight: UInt16? = nil) {
            self.major = major; self.minor = minor; self.weight = weight; self.leafWeight = leafWeight
        }
    }

    public struct ThrottleDevice: Sendable, Equatable, Codable {
        public var major: Int64
        public var minor: Int64
        /// Bytes or operations per second; 0 removes the limit.
        public var rate: UInt64
        public init(major: Int64, minor: Int64, rate: UInt64) { self.major = major; self.minor = minor; self.rate = rate }
    }

    public struct HugepageLimit: Sendable, Equatable, Codable {
        /// "2MB", "1GB", "64KB": the kernel's names.
        public var pageSize: String
        public var limit: UInt64
        public init(pageSize: String, limit: UInt64) { self.pageSize = pageSize; self.limit = limit }
    }

    public struct DeviceRule: Sendable, Equatable, Codable {
        public var allow: Bool
        /// "a", "b" or "c"; nil = "a".
        public var type: String?
        /// nil or -1 = any.
        public var major: Int64?
        public var minor: Int64?
        /// Letters of "rwm"; nil = "rwm".
        public var access: String?
        public init(allow: Bool, type: String? = nil, major: Int64? = nil, minor: Int64? = nil, access: String? = nil) {
            self.allow = allow; self.type = type; self.major = major; self.minor = minor; self.access = access
        }
    }
}

/// Where each controller of a cgroup is driven: 1, 2, or nil when nowhere.
struct Placement: Sendable {
    var version: [String: Int]
    var hasV2: Bool
    var v1Controllers: Set<String>

    init(_ directories: [Cgroup.Directory]) {
        version = [:]
        v1Controllers = []
        hasV2 = false
        for directory in directories where directory.version == 1 {
            for controller in directory.controllers {
                let name = controller == "blkio" ? "io" : controller
                version[name] = 1
                v1Controllers.insert(name)
            }
        }
        for directory in directories where directory.version == 2 {
            hasV2 = true
            for controller in directory.controllers where version[controller] == nil { version[controller] = 2 }
        }
    }
}

let resourcesField = "linux.resources"

extension Resources {
    /// Controllers the limits need, by v2 name.
    var neededControllers: Set<String> {
        var result: Set<String> = []
        if let cpu {
            if cpu.shares != nil || cpu.quota != nil || cpu.period != nil || cpu.burst != nil || cpu.idle != nil
                || cpu.realtimePeriod != nil || cpu.realtimeRuntime != nil { result.insert("cpu") }
            if cpu.cpus != nil || cpu.mems != nil { result.insert("cpuset") }
        }
        if memory != nil { result.insert("memory") }
        if pids != nil { result.insert("pids") }
        if blockIO != nil { result.insert("io") }
        if !hugepageLimits.isEmpty { result.insert("hugetlb") }
        for key in unified.keys {
            if let dot = key.firstIndex(of: "."), key[..<dot] != "cgroup" { result.insert(String(key[..<dot])) }
        }
        return result
    }

    /// Everything that can be refused without touching a cgroup: ranges, syntax, online CPUs,
    /// page sizes, and whether each controller is mounted at all.
    func validate(_ placement: Placement) throws(CgroupError) {
        let f = resourcesField
        func require(_ controller: String, _ field: String) throws(CgroupError) {
            guard placement.version[controller] != nil else {
                throw CgroupError(field: field, "the \(controller) controller is not available on this host")
            }
        }
        if let cpu {
            let v2 = placement.version["cpu"] == 2
            if cpu.shares != nil || cpu.quota != nil || cpu.period != nil || cpu.burst != nil || cpu.idle != nil {
                try require("cpu", "\(f).cpu")
            }
            if let shares = cpu.shares, shares != 0, v2, shares > 262_144 {
                throw CgroupError(field: "\(f).cpu.shares", "\(shares) is above the largest value, 262144")
            }
            if let period = cpu.period, period != 0, !(1000...1_000_000).contains(period) {
                throw CgroupError(field: "\(f).cpu.period", "\(period) is outside what the kernel accepts (1000 to 1000000 microseconds)")
            }
            if let quota = cpu.quota, quota != 0, quota != -1, quota < 1000 {
                throw CgroupError(field: "\(f).cpu.quota", "\(quota) is below what the kernel accepts (-1 for unlimited, or at least 1000 microseconds)")
            }
            if let idle = cpu.idle, idle != 0, idle != 1 {
                throw CgroupError(field: "\(f).cpu.idle", "\(idle) is not 0 or 1")
            }
            if v2, (cpu.realtimeRuntime ?? 0) != 0 || (cpu.realtimePeriod ?? 0) != 0 {
                throw CgroupError(field: "\(f).cpu.realtimeRuntime", "cgroup v2 has no real-time CPU limits; leave realtimeRuntime and realtimePeriod unset")
            }
            if let cpus = cpu.cpus, !cpus.isEmpty {
                try require("cpuset", "\(f).cpu.cpus")
                try checkOnline(cpus, online: "/sys/devices/system/cpu/online", what: "CPU", field: "\(f).cpu.cpus")
            }
            if let mems = cpu.mems, !mems.isEmpty {
                try require("cpuset", "\(f).cpu.mems")
                try checkOnline(mems, online: "/sys/devices/system/node/online", what: "memory node", field: "\(f).cpu.mems")
            }
        }
        if let memory {
            try require("memory", "\(f).memory")
            let v2 = placement.version["memory"] == 2
            for (name, value) in [("limit", memory.limit), ("reservation", memory.reservation), ("swap", memory.swap), ("kernelTCP", memory.kernelTCP)] {
                if let value, value < -1 {
                    throw CgroupError(field: "\(f).memory.\(name)", "\(value) is neither -1 (unlimited) nor a byte count")
                }
            }
            let limit = memory.limit ?? 0, swap = memory.swap ?? 0
            if swap > 0, limit > 0, swap < limit {
                throw CgroupError(field: "\(f).memory.swap", "\(swap) is below linux.resources.memory.limit \(limit) (swap counts memory plus swap)")
            }
            if v2 {
                if swap > 0, limit <= 0 {
                    throw CgroupError(field: "\(f).memory.swap", "cgroup v2 needs linux.resources.memory.limit to place a swap limit")
                }
                if let swappiness = memory.swappiness, swappiness != UInt64.max {
                    throw CgroupError(field: "\(f).memory.swappiness", "cgroup v2 has no per-cgroup swappiness; leave it unset")
                }
                if memory.disableOOMKiller == true {
                    throw CgroupError(field: "\(f).memory.disableOOMKiller", "cgroup v2 cannot disable the OOM killer")
                }
                if let tcp = memory.kernelTCP, tcp != 0 {
                    throw CgroupError(field: "\(f).memory.kernelTCP", "cgroup v2 has no separate TCP memory limit; leave it unset")
                }
            } else if let swappiness = memory.swappiness, swappiness != UInt64.max, swappiness > 100 {
                throw CgroupError(field: "\(f).memory.swappiness", "\(swappiness) is above 100")
            }
        }
        if pids != nil { try require("pids", "\(f).pids") }
        if let blockIO {
            try require("io", "\(f).blockIO")
            let v2 = placement.version["io"] == 2
            if let weight = blockIO.weight, weight != 0, !(10...1000).contains(weight) {
                throw CgroupError(field: "\(f).blockIO.weight", "\(weight) is outside 10 to 1000")
            }
            if v2, (blockIO.leafWeight ?? 0) != 0 || blockIO.weightDevice.contains(where: { ($0.leafWeight ?? 0) != 0 }) {
                throw CgroupError(field: "\(f).blockIO.leafWeight", "cgroup v2 has no leaf weights; leave leafWeight unset")
            }
            for (index, device) in blockIO.weightDevice.enumerated() {
                if device.major < 0 || device.minor < 0 {
                    throw CgroupError(field: "\(f).blockIO.weightDevice[\(index)]", "needs a real major:minor, not \(device.major):\(device.minor)")
                }
                if let weight = device.weight, !(10...1000).contains(weight) {
                    throw CgroupError(field: "\(f).blockIO.weightDevice[\(index)].weight", "\(weight) is outside 10 to 1000")
                }
            }
            for (name, list) in blockIO.throttles {
                for (index, device) in list.enumerated() where device.major < 0 || device.minor < 0 {
                    throw CgroupError(field: "\(f).blockIO.\(name)[\(index)]", "needs a real major:minor, not \(device.major):\(device.minor)")
                }
            }
        }
        if !hugepageLimits.isEmpty {
            try require("hugetlb", "\(f).hugepageLimits")
            let sizes = HugePages.sizes()
            for (index, limit) in hugepageLimits.enumerated() where !sizes.contains(limit.pageSize) {
                throw CgroupError(field: "\(f).hugepageLimits[\(index)].pageSize",
                                  "\"\(limit.pageSize)\" is not a huge page size here (have: \(sizes.joined(separator: ", ")))")
            }
        }
        if let devices { try DeviceRules.validate(devices) }
        for key in unified.keys.sorted() {
            try validateUnifiedKey(key, placement)
        }
    }

    private func validateUnifiedKey(_ key: String, _ placement: Placement) throws(CgroupError) {
        let field = "\(resourcesField).unified"
        guard placement.hasV2 else { throw CgroupError(field: field, "\"\(key)\": cgroup v2 is not mounted on this host") }
        guard let dot = key.firstIndex(of: "."), dot != key.startIndex, !key.contains("/"), !key.contains("\0") else {
            throw CgroupError(field: field, "unknown key \"\(key)\"")
        }
        let controller = String(key[..<dot])
        if controller == "cgroup" {
            // Core files that are state, not limits, are Berth's to manage.
            if ["cgroup.procs", "cgroup.threads", "cgroup.kill", "cgroup.freeze", "cgroup.subtree_control", "cgroup.type"].contains(key) {
                throw CgroupError(field: field, "\"\(key)\" is managed by the runtime, not a limit")
            }
            return
        }
        if placement.v1Controllers.contains(controller) || (controller == "blkio") {
            throw CgroupError(field: field, "\"\(key)\": \(controller) is not a v2 controller here (it is mounted as cgroup v1)")
        }
        if placement.version[controller] != 2 {
            throw CgroupError(field: field, "unknown key \"\(key)\"")
        }
    }

    private func checkOnline(_ list: String, online: String, what: String, field: String) throws(CgroupError) {
        guard let wanted = CPUList(list), !wanted.members.isEmpty else {
            throw CgroupError(field: field, "\"\(list)\" is not a list like 0-3,7")
        }
        let onlineText = (CgroupFile.text(online) ?? "0")
        let available = CPUList(onlineText)?.members ?? [0]
        if let missing = wanted.members.sorted().first(where: { !available.contains($0) }) {
            throw CgroupError(field: field, "\(what) \(missing) is not online (online: \(onlineText))")
        }
    }
}

extension Resources.BlockIO {
    /// The four throttle lists with their OCI names and (v1 file, v2 io.max key).
    var throttles: [(String, [Resources.ThrottleDevice])] {
        [("throttleReadBpsDevice", throttleReadBpsDevice), ("throttleWriteBpsDevice", throttleWriteBpsDevice),
         ("throttleReadIOPSDevice", throttleReadIOPSDevice), ("throttleWriteIOPSDevice", throttleWriteIOPSDevice)]
    }
}

enum HugePages {
    /// Page sizes in the kernel's cgroup spelling ("2MB", "1GB"), from /sys/kernel/mm/hugepages.
    static func sizes(_ dir: String = "/sys/kernel/mm/hugepages") -> [String] {
        let names = (try? FileSystem.listDirectory(dir)) ?? []
        return names.compactMap { name -> String? in
            guard name.hasPrefix("hugepages-"), name.hasSuffix("kB"),
                  let kilobytes = UInt64(name.dropFirst("hugepages-".count).dropLast(2)) else { return nil }
            return cgroupName(kilobytes: kilobytes)
        }
    }

    static func cgroupName(kilobytes: UInt64) -> String {
        if kilobytes >= 1 << 20 { return "\(kilobytes >> 20)GB" }
        if kilobytes >= 1 << 10 { return "\(kilobytes >> 10)MB" }
        return "\(kilobytes)KB"
    }
}

/// Turns a refused write into the field's one-line error, in words a user can act on.
func refusal(_ error: CgroupError, field: String, value: String, file: String) -> CgroupError {
    let errno = error.errno
    let reason: String
    switch errno?.rawValue {
    case .some(EINVAL): reason = "\(value) is outside what the kernel accepts (\(file))"
    case .some(EBUSY) where file.hasPrefix("memory."):
        reason = "\(value) is below what the cgroup uses now and could not be reclaimed (\(file))"
    case .some(ENOENT): reason = "not supported by this kernel (no \(file))"
    case .some(ENOSPC) where file.hasPrefix("cpuset."): reason = "\(value) is not available in the parent cgroup (\(file))"
    default: reason = "writing \(value) to \(file) failed"
    }
    return CgroupError(field: field, "\(reason): \(errno.map { "\($0)" } ?? error.message)", errno: errno)
}
