import BerthLinux

/// What a cgroup used, read from its files at the moment of asking. Sections are nil (or empty)
/// when the host has no such controller for this cgroup.
public struct CgroupStats: Sendable, Equatable, Codable {
    public struct CPU: Sendable, Equatable, Codable {
        /// Nanoseconds.
        public var usageTotal: UInt64 = 0
        public var usageUser: UInt64 = 0
        public var usageSystem: UInt64 = 0
        public var periods: UInt64 = 0
        public var throttledPeriods: UInt64 = 0
        /// Nanoseconds.
        public var throttledTime: UInt64 = 0
    }

    public struct Memory: Sendable, Equatable, Codable {
        public var usage: UInt64 = 0
        /// v1 max_usage_in_bytes, v2 memory.peak; nil where the kernel keeps none.
        public var maxUsage: UInt64?
        /// nil = unlimited.
        public var limit: UInt64?
        /// Page cache (v1 cache, v2 file).
        public var cache: UInt64 = 0
        /// Anonymous memory (v1 rss, v2 anon).
        public var rss: UInt64 = 0
        /// nil without swap accounting.
        public var swap: UInt64?
        public var inactiveFile: UInt64 = 0
        /// usage - inactive_file, what kubelet and cAdvisor call the working set.
        public var workingSet: UInt64 = 0
        public var oomKills: UInt64?
    }

    public struct Pids: Sendable, Equatable, Codable {
        public var current: UInt64 = 0
        /// nil = unlimited.
        public var limit: UInt64?
    }

    public struct IODevice: Sendable, Equatable, Codable {
        public var major: UInt32
        public var minor: UInt32
        public var readBytes: UInt64 = 0
        public var writeBytes: UInt64 = 0
        public var readOperations: UInt64 = 0
        public var writeOperations: UInt64 = 0
    }

    public struct HugeTLB: Sendable, Equatable, Codable {
        public var pageSize: String
        public var usage: UInt64 = 0
        public var maxUsage: UInt64?
        /// Allocations refused by the limit (v1 failcnt, v2 events "max").
        public var failures: UInt64 = 0
        public var limit: UInt64?
    }

    public var cpu: CPU?
    public var memory: Memory?
    public var pids: Pids?
    public var io: [IODevice] = []
    public var hugetlb: [HugeTLB] = []

    public init() {}
}

/// v1 keeps "unlimited" as a huge page-aligned number (PAGE_COUNTER_MAX pages).
func v1Limit(_ value: UInt64?) -> UInt64? {
    guard let value, value < 0x7FFF_FFFF_FFFF_0000 else { return nil }
    return value
}

enum V1Stats {
    static func collect(_ driver: V1Driver, into stats: inout CgroupStats) {
        if let dir = driver.directory(for: "cpuacct") {
            var cpu = stats.cpu ?? CgroupStats.CPU()
            cpu.usageTotal = CgroupFile.number(dir + "/cpuacct.usage") ?? 0
            if let user = CgroupFile.number(dir + "/cpuacct.usage_user"),
               let system = CgroupFile.number(dir + "/cpuacct.usage_sys") {
                cpu.usageUser = user
                cpu.usageSystem = system
            } else {
                // Older kernels: cpuacct.stat in USER_HZ (100 per second) ticks.
                let ticks = CgroupFile.keyed(dir + "/cpuacct.stat")
                cpu.usageUser = (ticks["user"] ?? 0) * 10_000_000
                cpu.usageSystem = (ticks["system"] ?? 0) * 10_000_000
            }
            stats.cpu = cpu
        }
        if let dir = driver.directory(for: "cpu") {
            var cpu = stats.cpu ?? CgroupStats.CPU()
            let values = CgroupFile.keyed(dir + "/cpu.stat")
            cpu.periods = values["nr_periods"] ?? 0
            cpu.throttledPeriods = values["nr_throttled"] ?? 0
            cpu.throttledTime = values["throttled_time"] ?? 0
            stats.cpu = cpu
        }
        if let dir = driver.directory(for: "memory") {
            var memory = CgroupStats.Memory()
            memory.usage = CgroupFile.number(dir + "/memory.usage_in_bytes") ?? 0
            memory.maxUsage = CgroupFile.number(dir + "/memory.max_usage_in_bytes")
            memory.limit = v1Limit(CgroupFile.number(dir + "/memory.limit_in_bytes"))
            let values = CgroupFile.keyed(dir + "/memory.stat")
            // total_* count the whole subtree, like usage_in_bytes does.
            memory.cache = values["total_cache"] ?? values["cache"] ?? 0
            memory.rss = values["total_rss"] ?? values["rss"] ?? 0
            memory.inactiveFile = values["total_inactive_file"] ?? values["inactive_file"] ?? 0
            if let both = CgroupFile.number(dir + "/memory.memsw.usage_in_bytes") {
                memory.swap = both > memory.usage ? both - memory.usage : 0
            }
            memory.workingSet = memory.usage > memory.inactiveFile ? memory.usage - memory.inactiveFile : 0
            memory.oomKills = CgroupFile.keyed(dir + "/memory.oom_control")["oom_kill"]
            stats.memory = memory
        }
        if let dir = driver.directory(for: "pids") {
            stats.pids = CgroupStats.Pids(current: CgroupFile.number(dir + "/pids.current") ?? 0,
                                          limit: CgroupFile.number(dir + "/pids.max"))
        }
        if let dir = driver.directory(for: "io") {
            stats.io = blkio(dir)
        }
        if let dir = driver.directory(for: "hugetlb") {
            stats.hugetlb = HugePages.sizes().map { size in
                let base = dir + "/hugetlb.\(size)."
                return CgroupStats.HugeTLB(pageSize: size,
                                           usage: CgroupFile.number(base + "usage_in_bytes") ?? 0,
                                           maxUsage: CgroupFile.number(base + "max_usage_in_bytes"),
                                           failures: CgroupFile.number(base + "failcnt") ?? 0,
                                           limit: v1Limit(CgroupFile.number(base + "limit_in_bytes")))
            }
        }
    }

    /// blkio.throttle.io_service_bytes / io_serviced: "8:0 Read 4096" lines, plus a "Total".
    static func blkio(_ dir: String) -> [CgroupStats.IODevice] {
        var devices: [UInt64: CgroupStats.IODevice] = [:]
        func read(_ name: String, _ update: (inout CgroupStats.IODevice, Substring, UInt64) -> Void) {
            let recursive = CgroupFile.text(dir + "/blkio.throttle.\(name)_recursive")
            guard let text = recursive ?? CgroupFile.text(dir + "/blkio.throttle.\(name)") else { return }
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: " ")
                guard fields.count == 3, let (major, minor) = deviceNumber(fields[0]), let value = UInt64(fields[2]) else { continue }
                let key = UInt64(major) << 32 | UInt64(minor)
                var device = devices[key] ?? CgroupStats.IODevice(major: major, minor: minor)
                update(&device, fields[1], value)
                devices[key] = device
            }
        }
        read("io_service_bytes") { device, op, value in
            if op == "Read" { device.readBytes = value } else if op == "Write" { device.writeBytes = value }
        }
        read("io_serviced") { device, op, value in
            if op == "Read" { device.readOperations = value } else if op == "Write" { device.writeOperations = value }
        }
        return devices.keys.sorted().map { devices[$0]! }
    }
}

enum V2Stats {
    static func collect(_ driver: V2Driver, into stats: inout CgroupStats) {
        let dir = driver.path
        // cpu.stat's usage lines exist without the cpu controller; a hybrid host without v1
        // cpuacct still gets them here.
        if stats.cpu == nil || driver.drives("cpu") {
            let values = CgroupFile.keyed(dir + "/cpu.stat")
            if !values.isEmpty {
                var cpu = stats.cpu ?? CgroupStats.CPU()
                cpu.usageTotal = (values["usage_usec"] ?? 0) * 1000
                cpu.usageUser = (values["user_usec"] ?? 0) * 1000
                cpu.usageSystem = (values["system_usec"] ?? 0) * 1000
                if driver.drives("cpu") {
                    cpu.periods = values["nr_periods"] ?? 0
                    cpu.throttledPeriods = values["nr_throttled"] ?? 0
                    cpu.throttledTime = (values["throttled_usec"] ?? 0) * 1000
                }
                stats.cpu = cpu
            }
        }
        if driver.drives("memory") {
            var memory = CgroupStats.Memory()
            memory.usage = CgroupFile.number(dir + "/memory.current") ?? 0
            memory.maxUsage = CgroupFile.number(dir + "/memory.peak")
            memory.limit = CgroupFile.number(dir + "/memory.max")
            let values = CgroupFile.keyed(dir + "/memory.stat")
            memory.cache = values["file"] ?? 0
            memory.rss = values["anon"] ?? 0
            memory.inactiveFile = values["inactive_file"] ?? 0
            memory.swap = CgroupFile.number(dir + "/memory.swap.current")
            memory.workingSet = memory.usage > memory.inactiveFile ? memory.usage - memory.inactiveFile : 0
            memory.oomKills = CgroupFile.keyed(dir + "/memory.events")["oom_kill"]
            stats.memory = memory
        }
        if driver.drives("pids") {
            stats.pids = CgroupStats.Pids(current: CgroupFile.number(dir + "/pids.current") ?? 0,
                                          limit: CgroupFile.number(dir + "/pids.max"))
        }
        if driver.drives("io") {
            stats.io = ioStat(CgroupFile.text(dir + "/io.stat") ?? "")
        }
        if driver.drives("hugetlb") {
            stats.hugetlb = HugePages.sizes().map { size in
                let base = dir + "/hugetlb.\(size)."
                return CgroupStats.HugeTLB(pageSize: size,
                                           usage: CgroupFile.number(base + "current") ?? 0,
                                           maxUsage: nil,
                                           failures: CgroupFile.keyed(base + "events")["max"] ?? 0,
                                           limit: CgroupFile.number(base + "max"))
            }
        }
    }

    /// io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device.
    static func ioStat(_ text: String) -> [CgroupStats.IODevice] {
        var result: [CgroupStats.IODevice] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard let first = fields.first, let (major, minor) = deviceNumber(first) else { continue }
            var device = CgroupStats.IODevice(major: major, minor: minor)
            for field in fields.dropFirst() {
                guard let equals = field.firstIndex(of: "="), let value = UInt64(field[field.index(after: equals)...]) else { continue }
                switch field[..<equals] {
                case "rbytes": device.readBytes = value
                case "wbytes": device.writeBytes = value
                case "rios": device.readOperations = value
                case "wios": device.writeOperations = value
                default: break
                }
            }
            result.append(device)
        }
        return result
    }
}

func deviceNumber(_ text: Substring) -> (UInt32, UInt32)? {
    guard let colon = text.firstIndex(of: ":"),
          let major = UInt32(text[..<colon]), let minor = UInt32(text[text.index(after: colon)...]) else { return nil }
    return (major, minor)
}
