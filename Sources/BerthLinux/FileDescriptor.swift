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
        // One uninitialised chunk (on the stack where it fits): no zero-filled buffer per read.
        var result: [UInt8] = []
        let failure: Errno? = withUnsafeTemporaryAllocation(byteCount: 16384, alignment: 1) { chunk in
            while true {
                let (count, error) = retryingInterrupts { Glibc.read(rawValue, chunk.baseAddress, chunk.count) }
                if let error { return error }
                if count == 0 { return nil }
                result.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[..<count]))
            }
        }
        if let failure { throw SystemError(step(), failure) }
        return result
    }

    /// Reads into `buffer` until end of file or until it is full, and returns the bytes read (so
    /// `buffer.count` means there may be more). With `oneRead`, a short read ends it: right for
    /// kernel files printed as one record (cgroup knobs), whose first read returns all of them,
    /// and it saves the read that would only see end of file. No allocation.
    public func read(into buffer: UnsafeMutableRawBufferPointer, oneRead: Bool = false) -> (count: Int, error: Errno?) {
        var filled = 0
        while filled < buffer.count {
            let (count, error) = retryingInterrupts { Glibc.read(rawValue, buffer.baseAddress! + filled, buffer.count - filled) }
            if let error { return (filled, error) }
            if count == 0 { break }
            filled += count
            if oneRead { break }
        }
        return (filled, nil)
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
