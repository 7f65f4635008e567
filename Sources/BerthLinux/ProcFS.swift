#if canImport(Glibc)
import Glibc
#endif

/// Facts read from /proc.
public enum ProcFS {
    /// Field 22 of /proc/PID/stat: the process start time in clock ticks since boot.
    /// Together with the pid it names one process for good: a recycled pid has another start time.
    public static func startTime(of pid: pid_t) -> UInt64? {
        guard let stat = try? FileSystem.readString("/proc/\(pid)/stat") else { return nil }
        // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); field 22 is at index 19.
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    /// Field 3 of /proc/PID/stat: R, S, D, Z, T ...
    public static func state(of pid: pid_t) -> Character? {
        guard let stat = try? FileSystem.readString("/proc/\(pid)/stat"),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ").first?.first
    }

    /// True when `pid` is alive (not a zombie) and is the process that started at `startTime`.
    public static func isRunning(pid: pid_t, startTime: UInt64?) -> Bool {
        guard pid > 0, let actual = Self.startTime(of: pid) else { return false }
        if let startTime, startTime != actual { return false }
        return state(of: pid) != "Z"
    }

    public static func bootID() -> String {
        (try? FileSystem.readString("/proc/sys/kernel/random/boot_id"))?
            .trimmingCharacters(in: " \n") ?? ""
    }

    /// The highest capability number this kernel knows.
    public static func lastCapability() -> Int {
        Int((try? FileSystem.readString("/proc/sys/kernel/cap_last_cap"))?.trimmingCharacters(in: " \n") ?? "") ?? 40
    }
}

extension String {
    /// Trims the given characters from both ends (no Foundation needed).
    public func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var slice = Substring(self)
        while let first = slice.first, chars.contains(first) { slice.removeFirst() }
        while let last = slice.last, chars.contains(last) { slice.removeLast() }
        return String(slice)
    }
}
