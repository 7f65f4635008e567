import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// Parsers for the /proc and /sys files the inventory reads. Pure functions over text, so
/// tests can feed them fixtures.
public enum HostFacts {
    /// A kernel CPU list ("0-3,8,10-11\n") as CPU numbers; nil if malformed.
    public static func parseCPUList(_ text: String) -> [Int]? {
        let trimmed = text.trimmingCharacters(in: " \n\t")
        if trimmed.isEmpty { return [] }
        var cpus: [Int] = []
        for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count == 1 || bounds.count == 2,
                  let low = Int(bounds[0]), low >= 0, low < 65536 else { return nil }
            let high = bounds.count == 2 ? Int(bounds[1]) : low
            guard let high, high >= low, high < 65536 else { return nil }
            cpus.append(contentsOf: low...high)
        }
        return cpus
    }

    /// The first "model name" (x86), "Processor"/"cpu model" (arm, mips) or "cpu" (ppc) value.
    public static func parseCPUModel(_ cpuinfo: String) -> String? {
        var fallback: String?
        for line in cpuinfo.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = String(line[..<colon]).trimmingCharacters(in: " \t")
            let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: " \t")
            if value.isEmpty { continue }
            if key == "model name" { return value }
            if fallback == nil && (key == "Processor" || key == "cpu model" || key == "cpu") { fallback = value }
        }
        return fallback
    }

    /// A "Key:   12345 kB" line of /proc/meminfo (or a node's meminfo, "Node 0 MemTotal: ..."), in KiB.
    public static func parseMeminfo(_ text: String, key: String) -> UInt64? {
        for line in text.split(separator: "\n") {
            var fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })[...]
            if fields.first == "Node" { fields = fields.dropFirst(2) }
            guard fields.count >= 2, fields.first == key + ":" else { continue }
            return UInt64(fields[fields.startIndex + 1])
        }
        return nil
    }

    /// The CPUs in a process's affinity mask (what cpusets and taskset leave it), from the
    /// "Cpus_allowed_list:" line of /proc/PID/status.
    public static func parseAllowedCPUs(_ status: String) -> [Int]? {
        for line in status.split(separator: "\n") where line.hasPrefix("Cpus_allowed_list:") {
            return parseCPUList(String(line.dropFirst("Cpus_allowed_list:".count)).trimmingCharacters(in: " \t"))
        }
        return nil
    }

    /// Total bytes of the filesystem holding `path` (or its nearest existing
    /// ancestor: the state dir may not exist before berthd's first start).
    public static func filesystemSize(of path: String) throws(SystemError) -> UInt64 {
        var candidate = path.isEmpty ? "/" : path
        while !FileSystem.exists(candidate) && candidate != "/" {
            candidate = FileSystem.parentDirectory(of: candidate)
        }
        var info = statvfs()
        _ = try sys("statvfs \(candidate)") { statvfs(candidate, &info) }
        return UInt64(info.f_blocks) * UInt64(info.f_frsize)
    }

    /// uname(2)'s machine field ("x86_64").
    public static func unameMachine() -> String {
        var names = utsname()
        guard uname(&names) == 0 else { return "unknown" }
        return withUnsafeBytes(of: &names.machine) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }
}
