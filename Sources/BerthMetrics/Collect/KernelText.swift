#if canImport(Glibc)
import Glibc
#endif

/// Parsing of the kernel's text files straight from their bytes: no String, no Dictionary.
/// Anything malformed is skipped, never trusted: a line without a number gives no value.
package enum KernelText {
    /// The number at the start ("123\n"); nil for "max", "-1", nothing or an overflow.
    package static func number(_ bytes: UnsafeRawBufferPointer?) -> UInt64? {
        guard let bytes else { return nil }
        return number(bytes, from: 0).map(\.value)
    }

    /// The digits from `start` and where they end; nil when there is no digit or they overflow.
    package static func number(_ bytes: UnsafeRawBufferPointer, from start: Int) -> (value: UInt64, end: Int)? {
        var value: UInt64 = 0
        var i = start
        while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(UInt64(bytes[i] - 0x30))
            if o1 || o2 { return nil }
            value = sum
            i += 1
        }
        return i == start ? nil : (value, i)
    }

    /// Each non-empty line, without its newline.
    package static func forEachLine(_ bytes: UnsafeRawBufferPointer?, _ body: (UnsafeRawBufferPointer) -> Void) {
        guard let bytes else { return }
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != 10 { end += 1 }
            if end > start { body(UnsafeRawBufferPointer(rebasing: bytes[start..<end])) }
            start = end + 1
        }
    }

    package static func firstLine(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[..<(bytes.firstIndex(of: 10) ?? bytes.count)])
    }

    /// Each "key value" line (memory.stat, cpu.stat, memory.events, memory.oom_control).
    package static func forEachKeyed(_ bytes: UnsafeRawBufferPointer?, _ body: (UnsafeRawBufferPointer, UInt64) -> Void) {
        forEachLine(bytes) { line in
            guard let space = line.firstIndex(of: 0x20), let (value, end) = number(line, from: space + 1), end == line.count else { return }
            body(UnsafeRawBufferPointer(rebasing: line[..<space]), value)
        }
    }

    /// The value of the first "key value" line with this key.
    package static func keyed(_ bytes: UnsafeRawBufferPointer?, _ key: StaticString) -> UInt64? {
        var found: UInt64?
        forEachKeyed(bytes) { name, value in
            if found == nil, equals(name, key) { found = value }
        }
        return found
    }

    package static func equals(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        bytes.count == text.utf8CodeUnitCount && (bytes.isEmpty || memcmp(bytes.baseAddress!, text.utf8Start, bytes.count) == 0)
    }

    /// Space-separated fields.
    package static func fields(_ line: UnsafeRawBufferPointer) -> [UnsafeRawBufferPointer] {
        var out: [UnsafeRawBufferPointer] = []
        var i = 0
        while i < line.count {
            while i < line.count, line[i] == 0x20 { i += 1 }
            let start = i
            while i < line.count, line[i] != 0x20 { i += 1 }
            if i > start { out.append(UnsafeRawBufferPointer(rebasing: line[start..<i])) }
        }
        return out
    }

    /// A whole field as a number.
    package static func number(field: UnsafeRawBufferPointer) -> UInt64? {
        guard let (value, end) = number(field, from: 0), end == field.count else { return nil }
        return value
    }

    /// "8:0" as (major, minor).
    package static func deviceNumber(_ field: UnsafeRawBufferPointer) -> (UInt32, UInt32)? {
        guard let (major, colon) = number(field, from: 0), colon < field.count, field[colon] == UInt8(ascii: ":"),
              let (minor, end) = number(field, from: colon + 1), end == field.count,
              major <= UInt32.max, minor <= UInt32.max else { return nil }
        return (UInt32(major), UInt32(minor))
    }

    /// Newlines (pids in cgroup.procs).
    package static func lineCount<Bytes: Collection<UInt8>>(_ bytes: Bytes?) -> UInt64 {
        guard let bytes else { return 0 }
        var count: UInt64 = 0
        for byte in bytes where byte == 10 { count += 1 }
        return count
    }

    /// "some avg10=0.00 avg60=0.00 avg300=0.00 total=123\nfull avg10=... total=45" (µs).
    package static func pressure(_ bytes: UnsafeRawBufferPointer?) -> ContainerPressure? {
        var some: UInt64?, full: UInt64?
        forEachLine(bytes) { line in
            guard line.count > 5, let space = line.lastIndex(of: 0x20), line.count - space > 7 else { return }
            let last = UnsafeRawBufferPointer(rebasing: line[(space + 1)...])
            guard equals(UnsafeRawBufferPointer(rebasing: last[..<6]), "total="),
                  let value = number(field: UnsafeRawBufferPointer(rebasing: last[6...])) else { return }
            let kind = UnsafeRawBufferPointer(rebasing: line[..<5])
            if equals(kind, "some ") { some = value } else if equals(kind, "full ") { full = value }
        }
        guard let some else { return nil }
        return ContainerPressure(waiting: some, stalled: full)
    }

    /// v1 blkio.throttle.io_service_bytes or io_serviced: "8:0 Read 4096" lines (and "Total"
    /// ones), merged by device into `devices`, kept sorted by device number.
    static func blkio(_ bytes: UnsafeRawBufferPointer?, into devices: inout [ContainerIODevice],
                      read: WritableKeyPath<ContainerIODevice, UInt64>, write: WritableKeyPath<ContainerIODevice, UInt64>) {
        forEachLine(bytes) { line in
            let parts = fields(line)
            guard parts.count == 3, let (major, minor) = deviceNumber(parts[0]), let value = number(field: parts[2]) else { return }
            let isRead = equals(parts[1], "Read")
            guard isRead || equals(parts[1], "Write") else { return }
            let index = device(major, minor, in: &devices)
            devices[index][keyPath: isRead ? read : write] = value
        }
    }

    /// v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device.
    static func ioStat(_ bytes: UnsafeRawBufferPointer?) -> [ContainerIODevice] {
        var devices: [ContainerIODevice] = []
        forEachLine(bytes) { line in
            let parts = fields(line)
            guard let first = parts.first, let (major, minor) = deviceNumber(first) else { return }
            let index = device(major, minor, in: &devices)
            for part in parts.dropFirst() {
                guard let equal = part.firstIndex(of: UInt8(ascii: "=")),
                      let value = number(field: UnsafeRawBufferPointer(rebasing: part[(equal + 1)...])) else { continue }
                let key = UnsafeRawBufferPointer(rebasing: part[..<equal])
                if equals(key, "rbytes") { devices[index].readBytes = value }
                else if equals(key, "wbytes") { devices[index].writeBytes = value }
                else if equals(key, "rios") { devices[index].reads = value }
                else if equals(key, "wios") { devices[index].writes = value }
            }
        }
        return devices
    }

    private static func device(_ major: UInt32, _ minor: UInt32, in devices: inout [ContainerIODevice]) -> Int {
        let key = UInt64(major) << 32 | UInt64(minor)
        let index = devices.firstIndex { UInt64($0.major) << 32 | UInt64($0.minor) >= key } ?? devices.count
        if index < devices.count, devices[index].major == major, devices[index].minor == minor { return index }
        devices.insert(ContainerIODevice(major: major, minor: minor), at: index)
        return index
    }

    /// /proc/<pid>/net/dev: "  eth0: 1234 5 0 0 0 0 0 0 5678 6 0 0 0 0 0 0" after two header
    /// lines; loopback left out.
    static func netDev(_ bytes: UnsafeRawBufferPointer?, _ body: (UnsafeRawBufferPointer, [UInt64]) -> Void) {
        forEachLine(bytes) { line in
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
            var start = 0
            while start < colon, line[start] == 0x20 { start += 1 }
            let name = UnsafeRawBufferPointer(rebasing: line[start..<colon])
            guard !name.isEmpty, !equals(name, "lo") else { return }
            let numbers = fields(UnsafeRawBufferPointer(rebasing: line[(colon + 1)...])).compactMap { number(field: $0) }
            guard numbers.count >= 12 else { return }
            body(name, numbers)
        }
    }
}
