import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// The node's own figures: CPU time by mode, memory, load and the disks berthd stores data on.
public enum NodeMetrics {
    static let cpuSeconds = Family("berth_node_cpu_seconds_total", .counter, "Seconds the node's CPUs spent in each mode, from /proc/stat.")
    static let cpus = Family("berth_node_cpus", .gauge, "Number of CPUs of the node.")
    static let memoryTotal = Family("berth_node_memory_total_bytes", .gauge, "Memory of the node (MemTotal).")
    static let memoryAvailable = Family("berth_node_memory_available_bytes", .gauge, "Memory available for new work without swapping (MemAvailable).")
    static let memoryFree = Family("berth_node_memory_free_bytes", .gauge, "Unused memory (MemFree).")
    static let memoryCached = Family("berth_node_memory_cached_bytes", .gauge, "Page cache (Cached).")
    static let swapTotal = Family("berth_node_swap_total_bytes", .gauge, "Swap space (SwapTotal).")
    static let swapFree = Family("berth_node_swap_free_bytes", .gauge, "Unused swap space (SwapFree).")
    static let load1 = Family("berth_node_load1", .gauge, "1 minute load average.")
    static let load5 = Family("berth_node_load5", .gauge, "5 minute load average.")
    static let load15 = Family("berth_node_load15", .gauge, "15 minute load average.")
    static let diskSize = Family("berth_node_disk_size_bytes", .gauge, "Size of the file system holding the path.")
    static let diskFree = Family("berth_node_disk_free_bytes", .gauge, "Free space of the file system holding the path.")
    static let diskAvailable = Family("berth_node_disk_available_bytes", .gauge, "Space of the file system holding the path that unprivileged users may use.")

    /// Writes the node's series; a /proc file that cannot be read leaves its series out.
    public static func write(diskPaths: [String], into exposition: inout Exposition) {
        if let text = try? FileSystem.readString("/proc/stat") {
            let (modes, count) = parseStat(text)
            for (mode, seconds) in modes {
                exposition.add(cpuSeconds, labels: Labels.render([("mode", mode)]), value: .real(seconds))
            }
            if count > 0 { exposition.add(cpus, labels: "", value: .integer(UInt64(count))) }
        }
        if let text = try? FileSystem.readString("/proc/meminfo") {
            let info = parseMeminfo(text)
            let pairs: [(Family, String)] = [
                (memoryTotal, "MemTotal"), (memoryAvailable, "MemAvailable"), (memoryFree, "MemFree"),
                (memoryCached, "Cached"), (swapTotal, "SwapTotal"), (swapFree, "SwapFree"),
            ]
            for (family, key) in pairs {
                if let value = info[key] { exposition.add(family, labels: "", value: .integer(value)) }
            }
        }
        if let text = try? FileSystem.readString("/proc/loadavg") {
            let fields = text.split(separator: " ")
            if fields.count >= 3, let one = Double(fields[0]), let five = Double(fields[1]), let fifteen = Double(fields[2]) {
                exposition.add(load1, labels: "", value: .real(one))
                exposition.add(load5, labels: "", value: .real(five))
                exposition.add(load15, labels: "", value: .real(fifteen))
            }
        }
        for path in diskPaths {
            var info = statvfs()
            guard statvfs(path, &info) == 0 else { continue }
            let block = UInt64(info.f_frsize)
            let labels = Labels.render([("path", path)])
            exposition.add(diskSize, labels: labels, value: .integer(UInt64(info.f_blocks) * block))
            exposition.add(diskFree, labels: labels, value: .integer(UInt64(info.f_bfree) * block))
            exposition.add(diskAvailable, labels: labels, value: .integer(UInt64(info.f_bavail) * block))
        }
    }

    /// The aggregate "cpu" line in seconds per mode, and the number of "cpuN" lines.
    static func parseStat(_ text: String) -> ([(String, Double)], Int) {
        let names = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]
        var modes: [(String, Double)] = []
        var count = 0
        for line in text.split(separator: "\n") {
            if line.hasPrefix("cpu ") {
                let ticks = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
                for (name, value) in zip(names, ticks) {
                    modes.append((name, Double(value) / ProcessStart.ticksPerSecond))
                }
            } else if line.hasPrefix("cpu") {
                count += 1
            }
        }
        return (modes, count)
    }

    /// "MemTotal:       16384 kB" lines, in bytes.
    static func parseMeminfo(_ text: String) -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let fields = line[line.index(after: colon)...].split(separator: " ")
            guard let number = fields.first.flatMap({ UInt64($0) }) else { continue }
            result[String(line[..<colon])] = fields.count > 1 && fields[1] == "kB" ? number * 1024 : number
        }
        return result
    }
}
