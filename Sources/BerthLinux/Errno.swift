#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A Linux error number, with its symbolic name and the C library's text.
public struct Errno: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's current errno.
    public static var current: Errno { Errno(errno) }

    public var description: String { String(cString: strerror(rawValue)) }

    public static let interrupted = Errno(EINTR)
    public static let noEntry = Errno(ENOENT)
    public static let exists = Errno(EEXIST)
    public static let busy = Errno(EBUSY)
    public static let noProcess = Errno(ESRCH)
    public static let wouldBlock = Errno(EAGAIN)
    public static let notPermitted = Errno(EPERM)
    public static let accessDenied = Errno(EACCES)
    public static let invalid = Errno(EINVAL)
    public static let noSpace = Errno(ENOSPC)
}

/// A failed system step: what Berth was doing, on what, and the errno it got.
/// Reads as one line: `write /sys/fs/cgroup/pids/berth/x/pids.max: Invalid argument`.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public let step: String
    public let errno: Errno

    public init(_ step: String, _ errno: Errno = .current) {
        self.step = step
        self.errno = errno
    }

    public var description: String { "\(step): \(errno)" }
}
