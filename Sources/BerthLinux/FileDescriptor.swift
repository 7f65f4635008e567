#if canImport(Glibc)
import Glibc
#endif

/// An owned file descriptor number. Closing is explicit: the owner decides when.
public struct FileDescriptor: Hashable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let standardInput = FileDescriptor(rawValue: 0)
    public static let standardOutput = FileDescriptor(rawValue: 1)
    public static let standardError = FileDescriptor(rawValue: 2)

    public static func open(
        _ path: String, _ flags: Int32, mode: mode_t = 0o644, relativeTo dir: FileDescriptor? = nil
    ) throws(SystemError) -> FileDescriptor {
        let fd = try sys("open \(path)") { openat(dir?.rawValue ?? AT_FDCWD, path, flags | O_CLOEXEC, mode) }
        return FileDescriptor(rawValue: fd)
    }

    public func close() { _ = Glibc.close(rawValue) }

    /// Reads until end of file.
    public func readAll(step: @autoclosure () -> String = "read") throws(SystemError) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let (count, error) = chunk.withUnsafeMutableBytes { buffer in
                retryingInterrupts { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }
            }
            if let error { throw SystemError(step(), error) }
            if count == 0 { return result }
            result.append(contentsOf: chunk[0..<count])
        }
    }

    /// Writes every byte, continuing after short writes.
    public func writeAll(_ bytes: some Collection<UInt8>, step: @autoclosure () -> String = "write") throws(SystemError) {
        let array = Array(bytes)
        var offset = 0
        while offset < array.count {
            let (written, error) = array.withUnsafeBytes { buffer in
                retryingInterrupts { Glibc.write(rawValue, buffer.baseAddress! + offset, buffer.count - offset) }
            }
            if let error { throw SystemError(step(), error) }
            offset += written
        }
    }

    public func sync(step: @autoclosure () -> String = "fsync") throws(SystemError) {
        try sys(step()) { fsync(rawValue) }
    }
}
