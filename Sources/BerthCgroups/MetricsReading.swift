import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// What a metrics scrape reads from one cgroup beyond `CgroupStats`: process and thread counts,
/// the CPU limits as cAdvisor reports them, and pressure stall information.
public struct CgroupMetricsReading: Sendable, Equatable {
    /// One line pair of cpu.pressure, memory.pressure or io.pressure.
    public struct Pressure: Sendable, Equatable {
        /// "cpu", "memory" or "io".
        public var resource: String
        /// Microseconds in which some task waited on the resource ("some ... total=").
        public var waiting: UInt64
        /// Microseconds in which every non-idle task stalled ("full ... total="); nil where the
        /// kernel keeps none (cpu before 5.13).
        public var stalled: UInt64?
    }

    public var stats: CgroupStats
    /// Processes (cgroup.procs) in the cgroup and below it.
    public var processes: UInt64 = 0
    /// Threads (v1 tasks, v2 cgroup.threads) in the cgroup and below it.
    public var threads: UInt64 = 0
    /// CFS quota in microseconds per period; nil = unlimited.
    public var cpuQuota: UInt64?
    /// CFS period in microseconds; nil without a cpu controller.
    public var cpuPeriod: UInt64?
    /// v1 cpu.shares, or v2 cpu.weight mapped to shares the way runc maps them back.
    public var cpuShares: UInt64?
    public var pressure: [Pressure] = []

    public init(stats: CgroupStats) { self.stats = stats }
}

extension Cgroup {
    /// Everything a scrape shows about this cgroup, read now. nil when the cgroup is gone, before
    /// or while it was read (a container deleted mid-scrape), so its series are left out rather
    /// than shown as zeros.
    public func metricsReading() -> CgroupMetricsReading? {
        guard let first = directories.first, FileSystem.isDirectory(first.path) else { return nil }
        var reading = CgroupMetricsReading(stats: stats())
        let drivers = self.drivers

        // Counts from one hierarchy: the unified one where there is one (it is last), as
        // processes() does: every process of the container is in each hierarchy.
        if let counted = directories.last {
            let threadFile = counted.version == 2 ? "cgroup.threads" : "tasks"
            // kernfs counts a directory's sub-directories in its link count: walk the tree (a
            // stat per entry) only when the container made cgroups of its own.
            var info = stat()
            let nested = stat(counted.path, &info) == 0 && info.st_nlink > 2
            for dir in nested ? CgroupFile.tree(counted.path) : [counted.path] {
                reading.processes += CgroupFile.lineCount(dir + "/cgroup.procs")
                reading.threads += CgroupFile.lineCount(dir + "/" + threadFile)
            }
        }

        if let v1 = drivers.first(where: { $0.version == 1 }) as? V1Driver, let dir = v1.directory(for: "cpu") {
            reading.cpuPeriod = CgroupFile.number(dir + "/cpu.cfs_period_us")
            // -1 (unlimited) does not parse as UInt64 and so reads as nil.
            reading.cpuQuota = CgroupFile.number(dir + "/cpu.cfs_quota_us")
            reading.cpuShares = CgroupFile.number(dir + "/cpu.shares")
        } else if let v2 = drivers.first(where: { $0.version == 2 }) as? V2Driver, v2.drives("cpu") {
            // cpu.max: "max 100000" or "50000 100000".
            let fields = (CgroupFile.text(v2.path + "/cpu.max") ?? "").split(separator: " ")
            if fields.count == 2 {
                reading.cpuQuota = UInt64(fields[0])
                reading.cpuPeriod = UInt64(fields[1])
            }
            if let weight = CgroupFile.number(v2.path + "/cpu.weight"), weight >= 1 {
                reading.cpuShares = 2 + (weight - 1) * 262_142 / 9_999
            }
        }

        // Pressure files live in every v2 cgroup (on a hybrid host in the unified hierarchy).
        if let v2 = directories.last(where: { $0.version == 2 }) {
            for resource in ["cpu", "memory", "io"] {
                guard let text = CgroupFile.text(v2.path + "/\(resource).pressure") else { continue }
                if let pressure = Self.parsePressure(resource: resource, text) { reading.pressure.append(pressure) }
            }
        }

        // Deleted while we read: the numbers may be half zeros.
        guard directories.allSatisfy({ FileSystem.isDirectory($0.path) }) else { return nil }
        return reading
    }

    /// "some avg10=0.00 avg60=0.00 avg300=0.00 total=123\nfull avg10=... total=45".
    static func parsePressure(resource: String, _ text: String) -> CgroupMetricsReading.Pressure? {
        var some: UInt64?, full: UInt64?
        for line in text.split(separator: "\n") {
            guard let total = line.split(separator: " ").last(where: { $0.hasPrefix("total=") }),
                  let value = UInt64(total.dropFirst(6)) else { continue }
            if line.hasPrefix("some ") { some = value } else if line.hasPrefix("full ") { full = value }
        }
        guard let some else { return nil }
        return CgroupMetricsReading.Pressure(resource: resource, waiting: some, stalled: full)
    }
}

extension CgroupFile {
    /// Lines in a file (pids in cgroup.procs); 0 when it cannot be read.
    static func lineCount(_ path: String) -> UInt64 {
        guard let bytes = try? FileSystem.readBytes(path) else { return 0 }
        var count: UInt64 = 0
        for byte in bytes where byte == 10 { count += 1 }
        return count
    }
}
