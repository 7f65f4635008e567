import CBerth
#if canImport(Glibc)
import Glibc
#endif

extension FileSystem {
    /// Reads `path` as if `root` were `/`: symlinks and `..` cannot leave `root` (openat2
    /// RESOLVE_IN_ROOT), for files inside images and container roots, which are hostile.
    /// Files over `limit` bytes are refused.
    public static func readFile(inRoot root: String, _ path: String, limit: Int) throws(SystemError) -> [UInt8] {
        let rootFD = try FileDescriptor.open(root, O_PATH | O_DIRECTORY)
        defer { rootFD.close() }
        let resolveInRoot: UInt64 = 0x10
        let fd = try sys("open \(root)/\(path)") {
            berth_openat2(rootFD.rawValue, path, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0, resolveInRoot)
        }
        let file = FileDescriptor(rawValue: fd)
        defer { file.close() }
        var info = stat()
        try sys("stat \(root)/\(path)") { fstat(file.rawValue, &info) }
        guard (info.st_mode & S_IFMT) == S_IFREG, info.st_size <= limit else {
            throw SystemError("read \(root)/\(path): not a regular file of at most \(limit) bytes", Errno(EFBIG))
        }
        return try file.readAll(step: "read \(root)/\(path)")
    }
}
