import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// Reads a task's log from an offset, for `berth task logs [--follow]`. The supervisor rotates
/// by renaming, so a file shorter than the offset is a fresh one: read it from the start.
public enum LogTail {
    /// At most 1 MiB per call; returns the bytes and the offset to continue from.
    public static func read(_ path: String, from offset: Int, limit: Int = 1 << 20) -> (bytes: [UInt8], next: Int) {
        guard let file = try? FileDescriptor.open(path, O_RDONLY) else { return ([], offset) }
        defer { file.close() }
        var info = stat()
        guard fstat(file.rawValue, &info) == 0 else { return ([], offset) }
        var start = offset
        if Int(info.st_size) < start { start = 0 }
        let count = min(limit, Int(info.st_size) - start)
        guard count > 0 else { return ([], start) }
        var bytes = [UInt8](repeating: 0, count: count)
        let got = bytes.withUnsafeMutableBytes { pread(file.rawValue, $0.baseAddress, count, off_t(start)) }
        guard got > 0 else { return ([], start) }
        return (Array(bytes[0..<got]), start + got)
    }
}
