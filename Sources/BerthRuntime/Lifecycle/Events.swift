import BerthCgroups
import BerthLinux
import BerthOCI
#if canImport(Glibc)
import Glibc
#endif

/// One line of `berth events`, shaped as runc prints it: {"type":"stats","id":…,"data":{…}} or
/// {"type":"oom","id":…}.
public struct ContainerEvent: Encodable, Sendable {
    public var type: String
    public var id: String
    public var data: StatsData?

    /// runc's stats layout (libcontainer/intelrdt-free subset), filled from the cgroup files.
    public struct StatsData: Encodable, Sendable {
        public struct CPU: Encodable, Sendable {
            public struct Usage: Encodable, Sendable { public var total, kernel, user: UInt64 }
            public struct Throttling: Encodable, Sendable { public var periods, throttledPeriods, throttledTime: UInt64 }
            public var usage: Usage
            public var throttling: Throttling
        }
        public struct MemoryEntry: Encodable, Sendable {
            public var usage: UInt64
            public var max: UInt64?
            public var limit: UInt64?
        }
        public struct Memory: Encodable, Sendable {
            public var cache: UInt64
            public var usage: MemoryEntry
            public var swap: MemoryEntry?
            public var raw: [String: UInt64]
        }
        public struct Pids: Encodable, Sendable { public var current: UInt64; public var limit: UInt64? }
        public struct BlkioEntry: Encodable, Sendable {
            public var major, minor: UInt32
            public var op: String
            public var value: UInt64
        }
        public struct Blkio: Encodable, Sendable {
            public var ioServiceBytesRecursive: [BlkioEntry]
            public var ioServicedRecursive: [BlkioEntry]
        }
        public struct HugeTLB: Encodable, Sendable { public var usage: UInt64; public var max: UInt64?; public var failcnt: UInt64 }

        public var cpu: CPU
        public var memory: Memory
        public var pids: Pids
        public var blkio: Blkio
        public var hugetlb: [String: HugeTLB]
    }

    init(stats: CgroupStats, id: String) {
        type = "stats"
        self.id = id
        let cpu = stats.cpu
        let memory = stats.memory
        var raw: [String: UInt64] = ["rss": memory?.rss ?? 0, "cache": memory?.cache ?? 0,
                                     "inactive_file": memory?.inactiveFile ?? 0, "working_set": memory?.workingSet ?? 0]
        if let kills = memory?.oomKills { raw["oom_kill"] = kills }
        func entries(_ read: (CgroupStats.IODevice) -> UInt64, _ write: (CgroupStats.IODevice) -> UInt64) -> [StatsData.BlkioEntry] {
            stats.io.flatMap { device in
                [StatsData.BlkioEntry(major: device.major, minor: device.minor, op: "Read", value: read(device)),
                 StatsData.BlkioEntry(major: device.major, minor: device.minor, op: "Write", value: write(device)),
                 StatsData.BlkioEntry(major: device.major, minor: device.minor, op: "Total", value: read(device) + write(device))]
            }
        }
        data = StatsData(
            cpu: .init(usage: .init(total: cpu?.usageTotal ?? 0, kernel: cpu?.usageSystem ?? 0, user: cpu?.usageUser ?? 0),
                       throttling: .init(periods: cpu?.periods ?? 0, throttledPeriods: cpu?.throttledPeriods ?? 0,
                                         throttledTime: cpu?.throttledTime ?? 0)),
            memory: .init(cache: memory?.cache ?? 0,
                          usage: .init(usage: memory?.usage ?? 0, max: memory?.maxUsage, limit: memory?.limit),
                          swap: memory?.swap.map { StatsData.MemoryEntry(usage: $0, max: nil, limit: nil) },
                          raw: raw),
            pids: .init(current: stats.pids?.current ?? 0, limit: stats.pids?.limit),
            blkio: .init(ioServiceBytesRecursive: entries(\.readBytes, \.writeBytes),
                         ioServicedRecursive: entries(\.readOperations, \.writeOperations)),
            hugetlb: Dictionary(stats.hugetlb.map { ($0.pageSize, StatsData.HugeTLB(usage: $0.usage, max: $0.maxUsage, failcnt: $0.failures)) },
                                uniquingKeysWith: { first, _ in first }))
    }

    init(oomIn id: String) {
        type = "oom"
        self.id = id
        data = nil
    }

    public func json() -> String {
        (try? OCIJSON.encodeString(self, pretty: false)) ?? "{}"
    }
}

extension Runtime {
    /// One stats event for a container that is not stopped (`berth events --stats`).
    public func statsEvent(id: String) throws -> ContainerEvent {
        try StateStore.validate(id: id)
        let record = try store.load(id: id)
        let status = status(of: record)
        guard status != .stopped, let cgroup = record.cgroup else {
            throw RuntimeError("events: container \"\(id)\" is \(status.rawValue)")
        }
        return ContainerEvent(stats: cgroup.cgroup.stats(), id: id)
    }

    /// Streams events until the container stops (or is deleted): a stats event every `interval`
    /// and an oom event whenever the OOM killer strikes in its cgroup. One thread waits on the
    /// cgroup's OOM notification (v1 eventfd, v2 memory.events) and the init's pidfd, so an OOM
    /// is told as it happens and the stream ends as the container does, without polling.
    public func streamEvents(id: String, interval: Duration, emit: (ContainerEvent) -> Void) throws {
        try StateStore.validate(id: id)
        let record = try store.load(id: id)
        guard status(of: record) != .stopped, let cgroup = record.cgroup?.cgroup else {
            throw RuntimeError("events: container \"\(id)\" is \(status(of: record).rawValue)")
        }
        // The pidfd first, then the check that the pid is still the container's init.
        guard let process = try? ProcessHandle.open(pid: record.pid),
              let current = try? store.load(id: id), status(of: current) != .stopped else { return }
        defer { process.close() }
        // Without a memory controller there is nothing to watch: the pidfd and the clock remain.
        let watcher = try? cgroup.oomWatcher()
        var reportedKills = cgroup.oomKillCount() ?? 0
        func reportOOM(_ kills: UInt64?) {
            emit(ContainerEvent(oomIn: id))
            reportedKills = max(reportedKills + 1, kills ?? 0)
        }
        var nextStats = Deadline.after(interval)
        while true {
            var ended = false
            if let watcher {
                let woken = Result { () throws(CgroupError) in try watcher.wait(until: nextStats, orReadable: process.pidfd.rawValue) }
                switch woken {
                case .success(.event(.oom(let kills))): reportOOM(kills)
                case .success(.event(.cgroupRemoved)), .success(.event(.cancelled)), .success(.readable): ended = true
                case .success(.deadline): break
                case .failure(let error): throw RuntimeError("events: \(error)")
                }
            } else {
                ended = try process.waitReadable(timeout: nextStats.remaining)
            }
            if ended {
                // An OOM kill counted after the last notification (v1 notifies before the kill).
                if let kills = cgroup.oomKillCount(), kills > reportedKills { reportOOM(kills) }
                return
            }
            if nextStats.hasPassed {
                guard cgroup.exists() else { return }
                emit(ContainerEvent(stats: cgroup.stats(), id: id))
                nextStats = Deadline.after(interval)
            }
        }
    }
}
