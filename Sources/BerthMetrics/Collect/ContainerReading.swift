import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// What a scrape shows of one container's cgroup, read now from the files `CgroupFile` lists
/// (v1, v2 or both on a hybrid host) and nothing else.
struct ContainerReading {
    struct CPU {
        /// Nanoseconds.
        var usage: UInt64 = 0, user: UInt64 = 0, system: UInt64 = 0
        var periods: UInt64 = 0, throttledPeriods: UInt64 = 0
        /// Nanoseconds.
        var throttledTime: UInt64 = 0
    }

    struct Memory {
        var usage: UInt64 = 0
        var maxUsage: UInt64?
        /// nil = unlimited.
        var limit: UInt64?
        var cache: UInt64 = 0, rss: UInt64 = 0, inactiveFile: UInt64 = 0
        var swap: UInt64?
        var oomKills: UInt64?
        /// Usage minus inactive file cache, floored at 0, as kubelet and cAdvisor count it.
        var workingSet: UInt64 { usage > inactiveFile ? usage - inactiveFile : 0 }
    }

    var cpu: CPU?
    var memory: Memory?
    /// nil without a pids controller; inside, nil = unlimited.
    var threadsLimit: UInt64??
    var io: [ContainerIODevice] = []
    var processes: UInt64 = 0, threads: UInt64 = 0
    /// CFS quota in microseconds per period (nil = unlimited), period, and v1 shares (or v2
    /// weight mapped back to shares as runc maps it).
    var cpuQuota: UInt64?, cpuPeriod: UInt64?, cpuShares: UInt64?
    var cpuPressure: ContainerPressure?, memoryPressure: ContainerPressure?, ioPressure: ContainerPressure?
}

/// One block device's counters.
package struct ContainerIODevice: Equatable {
    package var major: UInt32, minor: UInt32
    package var readBytes: UInt64 = 0, writeBytes: UInt64 = 0, reads: UInt64 = 0, writes: UInt64 = 0
}

/// Microseconds in which some task waited on a resource ("some ... total=") and in which every
/// non-idle task stalled ("full ... total="; nil where the kernel keeps none).
package struct ContainerPressure: Equatable {
    package var waiting: UInt64
    package var stalled: UInt64?

    package init(waiting: UInt64, stalled: UInt64?) {
        self.waiting = waiting
        self.stalled = stalled
    }
}

extension KernelFiles {
    /// One target's cgroup, read now; nil when the cgroup is gone, before or while it was read
    /// (a container deleted mid-scrape), so its series are left out rather than shown as zeros.
    func reading(of target: MetricTarget) -> (ContainerReading, ContainerFiles)? {
        let files = self.files(of: target)
        files.sawMissing = false
        var reading = ContainerReading()
        readCPU(files, into: &reading)
        readMemory(files, into: &reading)
        if files.has.v1Pids || files.has.v2Pids {
            reading.threadsLimit = .some(KernelText.number(read(files, files.has.v1Pids ? .pidsMaxV1 : .pidsMax)))
        }
        if files.has.v1Blkio {
            // blkio.throttle.io_service_bytes / io_serviced: "8:0 Read 4096" lines and a "Total".
            KernelText.blkio(read(files, .blkioBytes), into: &reading.io, read: \.readBytes, write: \.writeBytes)
            KernelText.blkio(read(files, .blkioOperations), into: &reading.io, read: \.reads, write: \.writes)
        } else if files.has.v2IO {
            reading.io = KernelText.ioStat(read(files, .ioStat))
        }
        countProcesses(files, into: &reading)
        if files.has.v2 {
            reading.cpuPressure = KernelText.pressure(read(files, .cpuPressure))
            reading.memoryPressure = KernelText.pressure(read(files, .memoryPressure))
            reading.ioPressure = KernelText.pressure(read(files, .ioPressure))
        }
        if files.sawMissing, !files.cgroup.directories.allSatisfy({ FileSystem.isDirectory($0.path) }) {
            drop(target)
            return nil
        }
        return (reading, files)
    }

    private func readCPU(_ files: ContainerFiles, into reading: inout ContainerReading) {
        var cpu = ContainerReading.CPU()
        var known = false
        // Usage, user and system from v2 cpu.stat where there is one (on a hybrid host too: one
        // file, and user/system there are exact where cpuacct's are in ticks).
        if files.has.v2 {
            var found = false
            KernelText.forEachKeyed(read(files, .cpuStat)) { key, value in
                if KernelText.equals(key, "usage_usec") { cpu.usage = value &* 1000; found = true }
                else if KernelText.equals(key, "user_usec") { cpu.user = value &* 1000 }
                else if KernelText.equals(key, "system_usec") { cpu.system = value &* 1000 }
                else if files.has.v2CPU {
                    if KernelText.equals(key, "nr_periods") { cpu.periods = value }
                    else if KernelText.equals(key, "nr_throttled") { cpu.throttledPeriods = value }
                    else if KernelText.equals(key, "throttled_usec") { cpu.throttledTime = value &* 1000 }
                }
            }
            known = found
        }
        if !known, files.has.v1CPUAcct {
            // A host without the unified hierarchy.
            cpu.usage = KernelText.number(read(files, .cpuacctUsage)) ?? 0
            cpu.user = KernelText.number(read(files, .cpuacctUser)) ?? 0
            cpu.system = KernelText.number(read(files, .cpuacctSystem)) ?? 0
            known = true
        }
        if files.has.v1CPU {
            KernelText.forEachKeyed(read(files, .cpuStatV1)) { key, value in
                if KernelText.equals(key, "nr_periods") { cpu.periods = value }
                else if KernelText.equals(key, "nr_throttled") { cpu.throttledPeriods = value }
                else if KernelText.equals(key, "throttled_time") { cpu.throttledTime = value }
            }
            known = true
            reading.cpuPeriod = KernelText.number(read(files, .cfsPeriod))
            // -1 (unlimited) is no number and reads as nil.
            reading.cpuQuota = KernelText.number(read(files, .cfsQuota))
            reading.cpuShares = KernelText.number(read(files, .cpuShares))
        } else if files.has.v2CPU {
            known = true
            // cpu.max: "max 100000" or "50000 100000".
            if let text = read(files, .cpuMax) {
                let fields = KernelText.fields(KernelText.firstLine(text))
                if fields.count == 2 {
                    reading.cpuQuota = KernelText.number(fields[0])
                    reading.cpuPeriod = KernelText.number(fields[1])
                }
            }
            if let weight = KernelText.number(read(files, .cpuWeight)), weight >= 1 {
                reading.cpuShares = 2 + (weight - 1) * 262_142 / 9_999
            }
        }
        if known { reading.cpu = cpu }
    }

    private func readMemory(_ files: ContainerFiles, into reading: inout ContainerReading) {
        var memory = ContainerReading.Memory()
        if files.has.v1Memory {
            memory.usage = KernelText.number(read(files, .memoryUsage)) ?? 0
            memory.maxUsage = KernelText.number(read(files, .memoryMaxUsage))
            // v1 keeps "unlimited" as a huge page-aligned number (PAGE_COUNTER_MAX pages).
            memory.limit = KernelText.number(read(files, .memoryLimit)).flatMap { $0 < 0x7FFF_FFFF_FFFF_0000 ? $0 : nil }
            // total_* count the whole subtree, as usage_in_bytes does; older kernels lack them.
            var cache: UInt64?, rss: UInt64?, inactive: UInt64?
            KernelText.forEachKeyed(read(files, .memoryStatV1)) { key, value in
                if KernelText.equals(key, "total_cache") { cache = value }
                else if KernelText.equals(key, "total_rss") { rss = value }
                else if KernelText.equals(key, "total_inactive_file") { inactive = value }
                else if KernelText.equals(key, "cache") { memory.cache = value }
                else if KernelText.equals(key, "rss") { memory.rss = value }
                else if KernelText.equals(key, "inactive_file") { memory.inactiveFile = value }
            }
            memory.cache = cache ?? memory.cache
            memory.rss = rss ?? memory.rss
            memory.inactiveFile = inactive ?? memory.inactiveFile
            if let both = KernelText.number(read(files, .memswUsage)) {
                memory.swap = both > memory.usage ? both - memory.usage : 0
            }
            memory.oomKills = KernelText.keyed(read(files, .oomControl), "oom_kill")
        } else if files.has.v2Memory {
            memory.usage = KernelText.number(read(files, .memoryCurrent)) ?? 0
            memory.maxUsage = KernelText.number(read(files, .memoryPeak))
            memory.limit = KernelText.number(read(files, .memoryMax))
            KernelText.forEachKeyed(read(files, .memoryStat)) { key, value in
                if KernelText.equals(key, "file") { memory.cache = value }
                else if KernelText.equals(key, "anon") { memory.rss = value }
                else if KernelText.equals(key, "inactive_file") { memory.inactiveFile = value }
            }
            memory.swap = KernelText.number(read(files, .swapCurrent))
            memory.oomKills = KernelText.keyed(read(files, .memoryEvents), "oom_kill")
        } else {
            return
        }
        reading.memory = memory
    }

    /// Processes and threads of the cgroup and of any cgroups the container made below it.
    private func countProcesses(_ files: ContainerFiles, into reading: inout ContainerReading) {
        reading.processes = KernelText.lineCount(read(files, .procs))
        reading.threads = KernelText.lineCount(read(files, .threads))
        // kernfs counts a directory's sub-directories in its link count: walk below only when
        // the container made cgroups of its own.
        guard let counted = files.counted, hasSubdirectories(files) else { return }
        let threadFile = counted.version == 2 ? "/cgroup.threads" : "/tasks"
        var pending = [counted.path]
        while let directory = pending.popLast() {
            for name in (try? FileSystem.listDirectory(directory)) ?? [] where FileSystem.isDirectory(directory + "/" + name) {
                let child = directory + "/" + name
                pending.append(child)
                reading.processes += KernelText.lineCount((try? FileSystem.readBytes(child + "/cgroup.procs")) ?? [])
                reading.threads += KernelText.lineCount((try? FileSystem.readBytes(child + threadFile)) ?? [])
            }
        }
    }
}
