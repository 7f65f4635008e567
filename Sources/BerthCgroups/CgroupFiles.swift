import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// A cgroup failure as one line. Limits name the OCI field:
/// `linux.resources.memory.limit: 4096 is below what the kernel accepts: Invalid argument`.
public struct CgroupError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The OCI field ("linux.resources.cpu.cpus"), when the failure is about one.
    public var field: String?
    public var message: String
    /// The kernel's errno, when one caused this.
    public var errno: Errno?

    public init(field: String? = nil, _ message: String, errno: Errno? = nil) {
        self.field = field
        self.message = message
        self.errno = errno
    }

    init(_ error: SystemError, field: String? = nil) {
        self.init(field: field, error.description, errno: error.errno)
    }

    public var description: String { field.map { "\($0): \(message)" } ?? message }
}

/// Small, allocation-light helpers over cgroup files.
enum CgroupFile {
    static func read(_ path: String) throws(CgroupError) -> String {
        do { return try FileSystem.readString(path) } catch { throw CgroupError(error) }
    }

    /// The file's text without the trailing newline; nil when it cannot be read.
    static func text(_ path: String) -> String? {
        guard var bytes = try? FileSystem.readBytes(path) else { return nil }
        while let last = bytes.last, last == 10 || last == 32 { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A single number; nil for "max", a missing file or garbage.
    static func number(_ path: String) -> UInt64? {
        guard let value = text(path) else { return nil }
        return UInt64(value)
    }

    static func write(_ value: String, _ path: String) throws(CgroupError) {
        do { try FileSystem.writeKnob(value, to: path) } catch { throw CgroupError(error) }
    }

    /// "key value" lines (memory.stat, cpu.stat, memory.events) into a dictionary.
    static func keyed(_ path: String) -> [Substring: UInt64] {
        guard let bytes = try? FileSystem.readBytes(path) else { return [:] }
        return parseKeyed(bytes)
    }

    static func parseKeyed(_ bytes: [UInt8]) -> [Substring: UInt64] {
        var result: [Substring: UInt64] = [:]
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(separator: "\n") {
            guard let space = line.firstIndex(of: " ") else { continue }
            if let value = UInt64(line[line.index(after: space)...]) { result[line[..<space]] = value }
        }
        return result
    }

    /// pids in a cgroup.procs file.
    static func pids(_ path: String) throws(CgroupError) -> [pid_t] {
        let text: String
        do { text = try FileSystem.readString(path) } catch {
            if error.errno == .noEntry { return [] }
            throw CgroupError(error)
        }
        return text.split(separator: "\n").compactMap { pid_t($0) }
    }

    /// Child cgroups (sub-directories) of a cgroup directory.
    static func children(_ dir: String) -> [String] {
        (try? FileSystem.listSubdirectories(dir)) ?? []
    }

    /// Every directory at and below `dir`, parents first.
    static func tree(_ dir: String) -> [String] {
        var result = [dir]
        var index = 0
        while index < result.count {
            let current = result[index]
            result += children(current).map { current + "/" + $0 }
            index += 1
        }
        return result
    }
}

/// Sleeps a little, growing from 1 ms to 20 ms, until `done` or the deadline.
func waitUntil(_ timeout: Duration, _ done: () throws(CgroupError) -> Bool) throws(CgroupError) -> Bool {
    let deadline = Deadline.after(timeout)
    var pause: Int = 1_000_000
    while true {
        if try done() { return true }
        if deadline.hasPassed { return false }
        var request = timespec(tv_sec: 0, tv_nsec: pause)
        _ = nanosleep(&request, nil)
        pause = min(pause * 2, 20_000_000)
    }
}

/// The list format of cpuset and /sys/devices/system/cpu/online: "0-3,7".
struct CPUList: Equatable, Sendable {
    var members: Set<Int>

    init?(_ text: String) {
        members = []
        let trimmed = text.trimmingCharacters(in: " \n")
        if trimmed.isEmpty { return }
        for part in trimmed.split(separator: ",") {
            let ends = part.split(separator: "-", omittingEmptySubsequences: false)
            guard ends.count <= 2, let low = Int(ends[0]), low >= 0 else { return nil }
            let high = ends.count == 2 ? Int(ends[1]) : low
            guard let high, high >= low, high - low < 1 << 16 else { return nil }
            members.formUnion(low...high)
        }
    }
}
