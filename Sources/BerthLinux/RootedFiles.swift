import CBerth
#if canImport(Glibc)
import Glibc
#endif

extension FileSystem {
    /// Reads `path` as if `root` were `/`: symlinks and `..` cannot leave `root` (openat2
    /// RESOLVE_IN_ROOT), for files inside images and container roots, which are hostile.
    /// Anything but a regular file of at most `limit` bytes is refused, and checked before it is
    /// opened: opening a FIFO blocks for ever and opening a device node can act (a watchdog
    /// starts its countdown), and a hostile image is one tar entry away from either.
    public static func readFile(inRoot root: String, _ path: String, limit: Int) throws(SystemError) -> [UInt8] {
        let rootFD = try FileDescriptor.open(root, O_PATH | O_DIRECTORY)
        defer { rootFD.close() }
        let resolveInRoot: UInt64 = 0x10
        let found = try sys("open \(root)/\(path)") {
            berth_openat2(rootFD.rawValue, path, O_PATH | O_CLOEXEC, 0, resolveInRoot)
        }
        let located = FileDescriptor(rawValue: found)
        defer { located.close() }
        var info = stat()
        try sys("stat \(root)/\(path)") { fstat(located.rawValue, &info) }
        guard (info.st_mode & S_IFMT) == S_IFREG, info.st_size <= limit else {
            throw SystemError("read \(root)/\(path): not a regular file of at most \(limit) bytes", Errno(EFBIG))
        }
        let file = try FileDescriptor.open("/proc/self/fd/\(found)", O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        defer { file.close() }
        return try file.readAll(step: "read \(root)/\(path)")
    }
}
