#if canImport(Glibc)
import Glibc
#endif

/// UTC timestamps as ISO 8601 with milliseconds ("2026-11-25T10:09:58.123Z"), the form state
/// files have always had. Formatted by hand: Foundation's formatter first loads the time-zone
/// database and builds a calendar, a tenth of the instructions of a whole `berth run`.
public enum Timestamp {
    public static func now() -> String {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return format(seconds: Int(time.tv_sec), milliseconds: Int(time.tv_nsec) / 1_000_000)
    }

    public static func format(seconds: Int, milliseconds: Int) -> String {
        var clock = time_t(seconds)
        var parts = tm()
        gmtime_r(&clock, &parts)
        func padded(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return padded(parts.tm_year + 1900, 4) + "-" + padded(parts.tm_mon + 1, 2) + "-" + padded(parts.tm_mday, 2)
            + "T" + padded(parts.tm_hour, 2) + ":" + padded(parts.tm_min, 2) + ":" + padded(parts.tm_sec, 2)
            + "." + padded(Int32(milliseconds), 3) + "Z"
    }
}
