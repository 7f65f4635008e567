import CBerth
#if canImport(Glibc)
import Glibc
#endif

/// File operations on paths, with errors that name the path.
public enum FileSystem {
    public static func readBytes(_ path: String) throws(SystemError) -> [UInt8] {
        let fd = try FileDescriptor.open(path, O_RDONLY)
        defer { fd.close() }
        return try fd.readAll(step: "read \(path)")
    }

    public static func readString(_ path: String) throws(SystemError) -> String {
        String(decoding: try readBytes(path), as: UTF8.self)
    }

    /// Writes a kernel knob (cgroup, /proc): one write(2) of the whole value, no truncation games,
    /// so the kernel sees exactly one value and its refusal comes back as the errno.
    public static func writeKnob(_ value: String, to path: String) throws(SystemError) {
        let fd = try FileDescriptor.open(path, O_WRONLY)
        defer { fd.close() }
        try fd.writeAll(Array(value.utf8), step: "write \(path)")
    }

    /// The one way Berth writes a file that must never be seen half-written: a temporary file in
    /// the same directory, fsync, rename over the target, fsync the directory. Without `durable`
    /// the fsyncs are left out (see `makeDurable`): the rename alone already keeps readers and a
    /// killed writer from half a file; only a power loss could undo it.
    public static func writeAtomically(_ bytes: some Collection<UInt8>, to path: String, mode: mode_t = 0o644, durable: Bool = true) throws(SystemError) {
        // The thread id too: two threads of one process may write the same path.
        let temporary = "\(path).tmp-\(getpid())-\(pthread_self())"
        let fd = try FileDescriptor.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode: mode)
        do throws(SystemError) {
            try fd.writeAll(bytes, step: "write \(temporary)")
            if durable { try fd.sync(step: "fsync \(temporary)") }
            fd.close()
            if durable {
                try sys("rename \(temporary) to \(path)") { rename(temporary, path) }
            } else {
                try replace(path, with: temporary)
            }
        } catch {
            fd.close()
            unlink(temporary)
            throw error
        }
        if durable { try syncDirectory(parentDirectory(of: path)) }
    }

    /// Puts `temporary` in place of `path` by swapping the two names, then removes the old file.
    /// A rename over an existing file makes ext4 (auto_da_alloc) write the new file's blocks out
    /// at once; freeing them again is what made removing a container's state.json cost
    /// milliseconds on a filesystem mounted with `discard`. Readers see the old or the new file,
    /// as with rename.
    private static func replace(_ path: String, with temporary: String) throws(SystemError) {
        guard berth_renameat2(temporary, path, BERTH_RENAME_EXCHANGE) == 0 else {
            // ENOENT: nothing there yet. EINVAL: a filesystem that cannot swap.
            try sys("rename \(temporary) to \(path)") { rename(temporary, path) }
            return
        }
        if unlink(temporary) == 0 { return }
        // EISDIR: a directory was at `path`, which rename would have refused. Put it back.
        let error = Errno.current
        if berth_renameat2(temporary, path, BERTH_RENAME_EXCHANGE) == 0 { unlink(temporary) }
        throw SystemError("rename \(temporary) to \(path)", error)
    }

    /// Makes a file that `writeAtomically(durable: false)` put in place durable: its data, then
    /// its directory entry. Blocks on the disk, so callers with latency to keep do it later.
    public static func makeDurable(_ path: String) throws(SystemError) {
        let fd = try FileDescriptor.open(path, O_RDONLY | O_NOFOLLOW)
        defer { fd.close() }
        try fd.sync(step: "fsync \(path)")
        try syncDirectory(parentDirectory(of: path))
    }

    private static func syncDirectory(_ directory: String) throws(SystemError) {
        let dir = try FileDescriptor.open(directory, O_RDONLY | O_DIRECTORY)
        defer { dir.close() }
        try dir.sync(step: "fsync \(directory)")
    }

    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// mkdir -p. Existing directories are fine.
    public static func createDirectory(_ path: String, mode: mode_t = 0o755) throws(SystemError) {
        if isDirectory(path) { return }
        let parent = parentDirectory(of: path)
        if parent != path { try createDirectory(parent, mode: mode) }
        let (_, error) = retryingInterrupts { mkdir(path, mode) }
        if let error, error != .exists { throw SystemError("mkdir \(path)", error) }
    }

    public static func listDirectory(_ path: String) throws(SystemError) -> [String] {
        try readDirectory(path) { _, _ in true }
    }

    /// The directories directly inside `path`, sorted. The type comes from readdir's d_type: a
    /// stat per entry is what made cgroup clean-up slow (kernfs checks permissions on each).
    public static func listSubdirectories(_ path: String) throws(SystemError) -> [String] {
        try readDirectory(path) { name, type in
            type == UInt8(DT_DIR) || (type == UInt8(DT_UNKNOWN) && isDirectory(path + "/" + name))
        }
    }

    private static func readDirectory(_ path: String, keeping keep: (String, UInt8) -> Bool) throws(SystemError) -> [String] {
        guard let dir = opendir(path) else { throw SystemError("opendir \(path)") }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." && keep(name, entry.pointee.d_type) { names.append(name) }
        }
        return names.sorted()
    }

    /// rm -rf that never follows a symlink and never crosses into another mount.
    public static func removeTree(_ path: String) throws(SystemError) {
        var info = stat()
        if lstat(path, &info) != 0 {
            if errno == ENOENT { return }
            throw SystemError("lstat \(path)")
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            try emptyDirectory(path, device: info.st_dev)
            try sys("rmdir \(path)") { rmdir(path) }
        } else {
            try sys("unlink \(path)") { unlink(path) }
        }
    }

    /// Removes everything inside the directory `path`, and nothing on another filesystem: a
    /// mount point inside is refused (EBUSY).
    public static func emptyDirectory(_ path: String) throws(SystemError) {
        var info = stat()
        try sys("lstat \(path)") { lstat(path, &info) }
        try emptyDirectory(path, device: info.st_dev)
    }

    private static func emptyDirectory(_ path: String, device: dev_t) throws(SystemError) {
        for name in try listDirectory(path) {
            let child = path + "/" + name
            var childInfo = stat()
            if lstat(child, &childInfo) == 0, (childInfo.st_mode & S_IFMT) == S_IFDIR, childInfo.st_dev != device {
                throw SystemError("remove \(child): a mount point is still there", .busy)
            }
            try removeTree(child)
        }
    }

    /// rename(2) that never replaces `to`: EEXIST when it exists. Returns the error, if any.
    public static func renameNoReplace(_ from: String, to: String) -> Errno? {
        retryingInterrupts { berth_renameat2(from, to, BERTH_RENAME_NOREPLACE) }.1
    }

    public static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

extension FileSystem {
    /// The path of this process's executable (/proc/self/exe), nil when it cannot be read.
    public static func ownExecutable() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The process's working directory.
    public static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
