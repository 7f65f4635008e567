import BerthCgroups
import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// One sample of one container: the family, labels besides the container's identity
/// (interface, device), and the value.
struct ContainerSample: Sendable {
    var family: Family
    var extra: [(String, String)]
    var value: SampleValue
}

/// The per-container series, named and meant as cAdvisor names and means them so existing
/// dashboards work. Read at scrape time from the cgroup files and /proc.
enum ContainerMetrics {
    static let cpuUsage = Family("container_cpu_usage_seconds_total", .counter, "Cumulative CPU time consumed, in seconds.")
    static let cpuUser = Family("container_cpu_user_seconds_total", .counter, "Cumulative user CPU time consumed, in seconds.")
    static let cpuSystem = Family("container_cpu_system_seconds_total", .counter, "Cumulative system CPU time consumed, in seconds.")
    static let cfsPeriods = Family("container_cpu_cfs_periods_total", .counter, "Number of elapsed enforcement period intervals.")
    static let cfsThrottledPeriods = Family("container_cpu_cfs_throttled_periods_total", .counter, "Number of throttled period intervals.")
    static let cfsThrottledTime = Family("container_cpu_cfs_throttled_seconds_total", .counter, "Total time duration the container has been throttled, in seconds.")
    static let memoryUsage = Family("container_memory_usage_bytes", .gauge, "Current memory usage in bytes, including all memory regardless of when it was accessed.")
    static let memoryMaxUsage = Family("container_memory_max_usage_bytes", .gauge, "Maximum memory usage recorded in bytes.")
    static let workingSet = Family("container_memory_working_set_bytes", .gauge, "Current working set in bytes: usage minus inactive file cache, floored at 0.")
    static let rss = Family("container_memory_rss", .gauge, "Size of RSS (anonymous memory) in bytes.")
    static let cache = Family("container_memory_cache", .gauge, "Number of bytes of page cache memory.")
    static let swap = Family("container_memory_swap", .gauge, "Container swap usage in bytes.")
    static let oomEvents = Family("container_oom_events_total", .counter, "Count of out of memory kills in the container.")
    static let processes = Family("container_processes", .gauge, "Number of processes running inside the container.")
    static let threads = Family("container_threads", .gauge, "Number of threads running inside the container.")
    static let threadsMax = Family("container_threads_max", .gauge, "Maximum number of threads allowed inside the container, 0 for unlimited.")
    static let fsReadBytes = Family("container_fs_reads_bytes_total", .counter, "Cumulative count of bytes read.")
    static let fsWriteBytes = Family("container_fs_writes_bytes_total", .counter, "Cumulative count of bytes written.")
    static let fsReads = Family("container_fs_reads_total", .counter, "Cumulative count of reads completed.")
    static let fsWrites = Family("container_fs_writes_total", .counter, "Cumulative count of writes completed.")
    static let rxBytes = Family("container_network_receive_bytes_total", .counter, "Cumulative count of bytes received.")
    static let rxPackets = Family("container_network_receive_packets_total", .counter, "Cumulative count of packets received.")
    static let rxErrors = Family("container_network_receive_errors_total", .counter, "Cumulative count of errors encountered while receiving.")
    static let rxDropped = Family("container_network_receive_packets_dropped_total", .counter, "Cumulative count of packets dropped while receiving.")
    static let txBytes = Family("container_network_transmit_bytes_total", .counter, "Cumulative count of bytes transmitted.")
    static let txPackets = Family("container_network_transmit_packets_total", .counter, "Cumulative count of packets transmitted.")
    static let txErrors = Family("container_network_transmit_errors_total", .counter, "Cumulative count of errors encountered while transmitting.")
    static let txDropped = Family("container_network_transmit_packets_dropped_total", .counter, "Cumulative count of packets dropped while transmitting.")
    static let specQuota = Family("container_spec_cpu_quota", .gauge, "CPU quota of the container, in microseconds per period.")
    static let specPeriod = Family("container_spec_cpu_period", .gauge, "CPU period of the container, in microseconds.")
    static let specShares = Family("container_spec_cpu_shares", .gauge, "CPU share of the container.")
    static let specMemory = Family("container_spec_memory_limit_bytes", .gauge, "Memory limit for the container, 0 for unlimited.")
    static let startTime = Family("container_start_time_seconds", .gauge, "Start time of the container since unix epoch in seconds.")
    static let pressure: [String: (waiting: Family, stalled: Family)] = [
        "cpu": (Family("container_pressure_cpu_waiting_seconds_total", .counter, "Total time duration tasks in the container have waited due to CPU congestion."),
                Family("container_pressure_cpu_stalled_seconds_total", .counter, "Total time duration no tasks in the container could make progress due to CPU congestion.")),
        "memory": (Family("container_pressure_memory_waiting_seconds_total", .counter, "Total time duration tasks in the container have waited due to memory congestion."),
                   Family("container_pressure_memory_stalled_seconds_total", .counter, "Total time duration no tasks in the container could make progress due to memory congestion.")),
        "io": (Family("container_pressure_io_waiting_seconds_total", .counter, "Total time duration tasks in the container have waited due to IO congestion."),
               Family("container_pressure_io_stalled_seconds_total", .counter, "Total time duration no tasks in the container could make progress due to IO congestion.")),
    ]

    /// Every sample of one target, or nil when its cgroup is gone.
    static func samples(of target: MetricTarget, devices: inout DeviceNames) -> [ContainerSample]? {
        guard let reading = target.cgroup.metricsReading() else { return nil }
        var out: [ContainerSample] = []
        out.reserveCapacity(48)
        func add(_ family: Family, _ value: SampleValue, _ extra: [(String, String)] = []) {
            out.append(ContainerSample(family: family, extra: extra, value: value))
        }
        func seconds(_ nanoseconds: UInt64) -> SampleValue { .real(Double(nanoseconds) / 1e9) }

        let stats = reading.stats
        if let cpu = stats.cpu {
            add(cpuUsage, seconds(cpu.usageTotal))
            add(cpuUser, seconds(cpu.usageUser))
            add(cpuSystem, seconds(cpu.usageSystem))
            add(cfsPeriods, .integer(cpu.periods))
            add(cfsThrottledPeriods, .integer(cpu.throttledPeriods))
            add(cfsThrottledTime, seconds(cpu.throttledTime))
        }
        if let memory = stats.memory {
            add(memoryUsage, .integer(memory.usage))
            if let max = memory.maxUsage { add(memoryMaxUsage, .integer(max)) }
            add(workingSet, .integer(memory.usage > memory.inactiveFile ? memory.usage - memory.inactiveFile : 0))
            add(rss, .integer(memory.rss))
            add(cache, .integer(memory.cache))
            if let swapped = memory.swap { add(swap, .integer(swapped)) }
            if let kills = memory.oomKills { add(oomEvents, .integer(kills)) }
            add(specMemory, .integer(memory.limit ?? 0))
        }
        add(processes, .integer(reading.processes))
        add(threads, .integer(reading.threads))
        if let pids = stats.pids { add(threadsMax, .integer(pids.limit ?? 0)) }
        for device in stats.io {
            let extra = [("device", devices.name(major: device.major, minor: device.minor))]
            add(fsReadBytes, .integer(device.readBytes), extra)
            add(fsWriteBytes, .integer(device.writeBytes), extra)
            add(fsReads, .integer(device.readOperations), extra)
            add(fsWrites, .integer(device.writeOperations), extra)
        }
        for interface in NetDev.interfaces(of: target.initPID ?? 0) {
            let extra = [("interface", interface.name)]
            add(rxBytes, .integer(interface.receiveBytes), extra)
            add(rxPackets, .integer(interface.receivePackets), extra)
            add(rxErrors, .integer(interface.receiveErrors), extra)
            add(rxDropped, .integer(interface.receiveDropped), extra)
            add(txBytes, .integer(interface.transmitBytes), extra)
            add(txPackets, .integer(interface.transmitPackets), extra)
            add(txErrors, .integer(interface.transmitErrors), extra)
            add(txDropped, .integer(interface.transmitDropped), extra)
        }
        if let quota = reading.cpuQuota { add(specQuota, .integer(quota)) }
        if let period = reading.cpuPeriod { add(specPeriod, .integer(period)) }
        if let shares = reading.cpuShares { add(specShares, .integer(shares)) }
        if let start = target.startTime ?? ProcessStart.seconds(of: target.initPID ?? 0) {
            add(startTime, .real(start))
        }
        for pressure in reading.pressure {
            guard let families = Self.pressure[pressure.resource] else { continue }
            add(families.waiting, .real(Double(pressure.waiting) / 1e6))
            if let stalled = pressure.stalled { add(families.stalled, .real(Double(stalled) / 1e6)) }
        }
        return out
    }
}

/// Block device names ("/dev/sda") by number, as cAdvisor labels them, looked up once per scrape.
struct DeviceNames {
    private var known: [UInt64: String] = [:]

    mutating func name(major: UInt32, minor: UInt32) -> String {
        let key = UInt64(major) << 32 | UInt64(minor)
        if let name = known[key] { return name }
        var name = "\(major):\(minor)"
        // /sys/dev/block/8:0 links to .../block/sda.
        var buffer = [CChar](repeating: 0, count: 512)
        let count = readlink("/sys/dev/block/\(major):\(minor)", &buffer, buffer.count - 1)
        if count > 0 {
            let target = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let last = target.split(separator: "/").last { name = "/dev/" + last }
        }
        known[key] = name
        return name
    }
}

/// A process's start time in seconds since the epoch: /proc/<pid>/stat field 22 (ticks since
/// boot) plus the boot time from /proc/stat.
enum ProcessStart {
    static let bootTime: Double? = {
        guard let text = try? FileSystem.readString("/proc/stat") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6))
        }
        return nil
    }()

    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    static func seconds(of pid: pid_t) -> Double? {
        guard pid > 0, let boot = bootTime, let ticks = ProcFS.startTime(of: pid) else { return nil }
        return boot + Double(ticks) / ticksPerSecond
    }
}
