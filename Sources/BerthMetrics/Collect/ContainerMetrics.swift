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

    /// Every series, in the order a page shows them: the index of its family in `families`.
    enum Series: Int, CaseIterable {
        case cpuUsage, cpuUser, cpuSystem, cfsPeriods, cfsThrottledPeriods, cfsThrottledTime
        case memoryUsage, memoryMaxUsage, workingSet, rss, cache, swap
        case oomEvents, specMemory, processes, threads, threadsMax, fsReadBytes
        case fsWriteBytes, fsReads, fsWrites, rxBytes, rxPackets, rxErrors
        case rxDropped, txBytes, txPackets, txErrors, txDropped, specQuota
        case specPeriod, specShares, startTime, cpuPressureWaiting, cpuPressureStalled, memoryPressureWaiting
        case memoryPressureStalled, ioPressureWaiting, ioPressureStalled

        var family: Family {
            switch self {
            case .cpuUsage: return ContainerMetrics.cpuUsage
            case .cpuUser: return ContainerMetrics.cpuUser
            case .cpuSystem: return ContainerMetrics.cpuSystem
            case .cfsPeriods: return ContainerMetrics.cfsPeriods
            case .cfsThrottledPeriods: return ContainerMetrics.cfsThrottledPeriods
            case .cfsThrottledTime: return ContainerMetrics.cfsThrottledTime
            case .memoryUsage: return ContainerMetrics.memoryUsage
            case .memoryMaxUsage: return ContainerMetrics.memoryMaxUsage
            case .workingSet: return ContainerMetrics.workingSet
            case .rss: return ContainerMetrics.rss
            case .cache: return ContainerMetrics.cache
            case .swap: return ContainerMetrics.swap
            case .oomEvents: return ContainerMetrics.oomEvents
            case .specMemory: return ContainerMetrics.specMemory
            case .processes: return ContainerMetrics.processes
            case .threads: return ContainerMetrics.threads
            case .threadsMax: return ContainerMetrics.threadsMax
            case .fsReadBytes: return ContainerMetrics.fsReadBytes
            case .fsWriteBytes: return ContainerMetrics.fsWriteBytes
            case .fsReads: return ContainerMetrics.fsReads
            case .fsWrites: return ContainerMetrics.fsWrites
            case .rxBytes: return ContainerMetrics.rxBytes
            case .rxPackets: return ContainerMetrics.rxPackets
            case .rxErrors: return ContainerMetrics.rxErrors
            case .rxDropped: return ContainerMetrics.rxDropped
            case .txBytes: return ContainerMetrics.txBytes
            case .txPackets: return ContainerMetrics.txPackets
            case .txErrors: return ContainerMetrics.txErrors
            case .txDropped: return ContainerMetrics.txDropped
            case .specQuota: return ContainerMetrics.specQuota
            case .specPeriod: return ContainerMetrics.specPeriod
            case .specShares: return ContainerMetrics.specShares
            case .startTime: return ContainerMetrics.startTime
            case .cpuPressureWaiting: return ContainerMetrics.pressure["cpu"]!.waiting
            case .cpuPressureStalled: return ContainerMetrics.pressure["cpu"]!.stalled
            case .memoryPressureWaiting: return ContainerMetrics.pressure["memory"]!.waiting
            case .memoryPressureStalled: return ContainerMetrics.pressure["memory"]!.stalled
            case .ioPressureWaiting: return ContainerMetrics.pressure["io"]!.waiting
            case .ioPressureStalled: return ContainerMetrics.pressure["io"]!.stalled
            }
        }
    }

    static let families: [Family] = Series.allCases.map(\.family)

    /// Every sample of one target, or nil when its cgroup is gone (for StatsD).
    static func samples(of target: MetricTarget, files: KernelFiles, devices: inout DeviceNames) -> [ContainerSample]? {
        struct Collect: ContainerSampleSink {
            var out: [ContainerSample] = []
            mutating func add(_ series: ContainerMetrics.Series, _ value: ContainerValue, label: (name: String, value: UnsafeRawBufferPointer)?) {
                let extra = label.map { [($0.name, String(decoding: $0.value, as: UTF8.self))] } ?? []
                out.append(ContainerSample(family: series.family, extra: extra, value: value.sampleValue))
            }
        }
        var sink = Collect()
        sink.out.reserveCapacity(48)
        guard write(target, files: files, devices: &devices, into: &sink) else { return nil }
        return sink.out
    }

    /// Reads one target and hands each of its samples to `sink`; false when its cgroup is gone.
    static func write<Sink: ContainerSampleSink>(_ target: MetricTarget, files: KernelFiles, devices: inout DeviceNames, into sink: inout Sink) -> Bool {
        guard let (reading, opened) = files.reading(of: target) else { return false }
        func add(_ series: Series, _ value: ContainerValue) { sink.add(series, value, label: nil) }

        if let cpu = reading.cpu {
            add(.cpuUsage, .nanoseconds(cpu.usage))
            add(.cpuUser, .nanoseconds(cpu.user))
            add(.cpuSystem, .nanoseconds(cpu.system))
            add(.cfsPeriods, .integer(cpu.periods))
            add(.cfsThrottledPeriods, .integer(cpu.throttledPeriods))
            add(.cfsThrottledTime, .nanoseconds(cpu.throttledTime))
        }
        if let memory = reading.memory {
            add(.memoryUsage, .integer(memory.usage))
            if let max = memory.maxUsage { add(.memoryMaxUsage, .integer(max)) }
            add(.workingSet, .integer(memory.workingSet))
            add(.rss, .integer(memory.rss))
            add(.cache, .integer(memory.cache))
            if let swapped = memory.swap { add(.swap, .integer(swapped)) }
            if let kills = memory.oomKills { add(.oomEvents, .integer(kills)) }
            add(.specMemory, .integer(memory.limit ?? 0))
        }
        add(.processes, .integer(reading.processes))
        add(.threads, .integer(reading.threads))
        if let limit = reading.threadsLimit { add(.threadsMax, .integer(limit ?? 0)) }
        for device in reading.io {
            devices.withName(major: device.major, minor: device.minor) { name in
                let label = (name: "device", value: name)
                sink.add(.fsReadBytes, .integer(device.readBytes), label: label)
                sink.add(.fsWriteBytes, .integer(device.writeBytes), label: label)
                sink.add(.fsReads, .integer(device.reads), label: label)
                sink.add(.fsWrites, .integer(device.writes), label: label)
            }
        }
        if let pid = target.initPID {
            KernelText.netDev(files.netDev(opened, pid: pid)) { name, numbers in
                let label = (name: "interface", value: name)
                sink.add(.rxBytes, .integer(numbers[0]), label: label)
                sink.add(.rxPackets, .integer(numbers[1]), label: label)
                sink.add(.rxErrors, .integer(numbers[2]), label: label)
                sink.add(.rxDropped, .integer(numbers[3]), label: label)
                sink.add(.txBytes, .integer(numbers[8]), label: label)
                sink.add(.txPackets, .integer(numbers[9]), label: label)
                sink.add(.txErrors, .integer(numbers[10]), label: label)
                sink.add(.txDropped, .integer(numbers[11]), label: label)
            }
        }
        if let quota = reading.cpuQuota { add(.specQuota, .integer(quota)) }
        if let period = reading.cpuPeriod { add(.specPeriod, .integer(period)) }
        if let shares = reading.cpuShares { add(.specShares, .integer(shares)) }
        if let start = target.startTime ?? ProcessStart.seconds(of: target.initPID ?? 0) {
            add(.startTime, .real(start))
        }
        let pressures: [(ContainerPressure?, Series, Series)] = [
            (reading.cpuPressure, .cpuPressureWaiting, .cpuPressureStalled),
            (reading.memoryPressure, .memoryPressureWaiting, .memoryPressureStalled),
            (reading.ioPressure, .ioPressureWaiting, .ioPressureStalled),
        ]
        for (pressure, waiting, stalled) in pressures {
            guard let pressure else { continue }
            add(waiting, .microseconds(pressure.waiting))
            if let full = pressure.stalled { add(stalled, .microseconds(full)) }
        }
        return true
    }
}

/// A container sample's value as the kernel counts it: seconds stay exact decimals.
enum ContainerValue {
    case integer(UInt64)
    case nanoseconds(UInt64)
    case microseconds(UInt64)
    case real(Double)

    var sampleValue: SampleValue {
        switch self {
        case .integer(let value): return .integer(value)
        case .nanoseconds(let value): return .real(Double(value) / 1e9)
        case .microseconds(let value): return .real(Double(value) / 1e6)
        case .real(let value): return .real(value)
        }
    }
}

/// Where `ContainerMetrics.write` puts samples: the Prometheus page or StatsD lines.
protocol ContainerSampleSink {
    /// `label` is the one label besides the container's identity (device, interface).
    mutating func add(_ series: ContainerMetrics.Series, _ value: ContainerValue, label: (name: String, value: UnsafeRawBufferPointer)?)
}

/// Block device names ("/dev/sda") by number, as cAdvisor labels them, looked up once per scrape.
struct DeviceNames {
    private var known: [UInt64: [UInt8]] = [:]

    mutating func name(major: UInt32, minor: UInt32) -> String {
        withName(major: major, minor: minor) { String(decoding: $0, as: UTF8.self) }
    }

    mutating func withName<T>(major: UInt32, minor: UInt32, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        let key = UInt64(major) << 32 | UInt64(minor)
        if known[key] == nil {
            var name = Array("\(major):\(minor)".utf8)
            // /sys/dev/block/8:0 links to .../block/sda.
            var buffer = [CChar](repeating: 0, count: 512)
            let count = readlink("/sys/dev/block/\(major):\(minor)", &buffer, buffer.count - 1)
            if count > 0, let slash = buffer[0..<count].lastIndex(of: CChar(UInt8(ascii: "/"))), slash + 1 < count {
                name = Array("/dev/".utf8) + buffer[(slash + 1)..<count].map { UInt8(bitPattern: $0) }
            }
            known[key] = name
        }
        return known[key]!.withUnsafeBytes(body)
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
