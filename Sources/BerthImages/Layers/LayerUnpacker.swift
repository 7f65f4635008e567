import BerthLinux
import CBerthCompress
#if canImport(Glibc)
import Glibc
#endif

/// Writes one layer's tar stream into an empty directory in overlayfs form: whiteouts become
/// 0:0 character devices and opaque directories get `trusted.overlay.opaque=y`, so the directory
/// can serve as an overlay lower layer as it is (the copy backend reads the same markers).
///
/// Safety: every path is resolved one component at a time from the layer root with
/// O_NOFOLLOW|O_DIRECTORY, so a symlink (from this layer) is never followed; a write through one
/// is refused. Hard-link targets are resolved the same way and linked without following.
final class LayerUnpacker {
    private let rootPath: String
    private let root: FileDescriptor
    /// The parent directory of the previous member: most members share it.
    private var cachedParent: (path: [String], fd: FileDescriptor)?
    /// Directory times are set last, once nothing more is written into them.
    private var directoryTimes: [(path: [String], modified: TarTime, accessed: TarTime?)] = []
    private let ownership: Bool

    init(into rootPath: String) throws(ImageError) {
        self.rootPath = rootPath
        self.root = try imageStep { () throws(SystemError) in try FileDescriptor.open(rootPath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) }
        // Unprivileged imports (tests, tools) keep their own uid; as root, ownership is the layer's.
        self.ownership = geteuid() == 0
    }

    deinit {
        cachedParent?.fd.close()
        root.close()
    }

    /// Unpacks every member, then reads the stream to its end.
    func unpack(_ reader: TarReader) throws(ImageError) {
        while let entry = try reader.next() {
            switch Result(catching: { () throws(ImageError) in try write(entry, from: reader) }) {
            case .success: break
            case .failure(let error): throw error.within("entry \"\(entry.path)\"")
            }
        }
        try reader.finish()
        try applyDirectoryTimes()
    }

    private func write(_ entry: TarEntry, from reader: TarReader) throws(ImageError) {
        let components = try LayerPath.components(entry.path)
        guard let name = components.last else {
            // "./": the layer root itself.
            if entry.kind == .directory { try applyMetadata(entry, parent: root, name: ".", path: []) }
            return
        }
        let parentPath = Array(components.dropLast())
        if name.hasPrefix(LayerPath.whiteoutPrefix) {
            try whiteout(name, in: parentPath)
            return
        }
        let parent = try directory(parentPath)
        let step = "create \(name)"
        switch entry.kind {
        case .regular:
            try writeFile(entry, from: reader, parent: parent, name: name, path: components)
            return
        case .directory:
            if try !makeRoom(in: parent, name, path: components, keepingDirectory: true) {
                try imageStep { () throws(SystemError) in try sys(step) { mkdirat(parent.rawValue, name, 0o700) } }
            }
        case .symlink:
            guard !entry.linkName.isEmpty else { throw ImageError("symlink with an empty target") }
            _ = try makeRoom(in: parent, name, path: components, keepingDirectory: false)
            try imageStep { () throws(SystemError) in try sys(step) { symlinkat(entry.linkName, parent.rawValue, name) } }
        case .hardLink:
            _ = try makeRoom(in: parent, name, path: components, keepingDirectory: false)
            try hardLink(entry, parent: parent, name: name)
            return  // a hard link shares its target's inode, metadata included
        case .characterDevice, .blockDevice, .fifo:
            _ = try makeRoom(in: parent, name, path: components, keepingDirectory: false)
            let type = entry.kind == .fifo ? S_IFIFO : entry.kind == .characterDevice ? S_IFCHR : S_IFBLK
            let device = entry.kind == .fifo ? 0 : berth_makedev(entry.deviceMajor, entry.deviceMinor)
            try imageStep { () throws(SystemError) in try sys(step) { mknodat(parent.rawValue, name, type | 0o600, dev_t(device)) } }
        }
        try applyMetadata(entry, parent: parent, name: name, path: components)
    }

    /// A regular file: created new (O_EXCL|O_NOFOLLOW, so never through a symlink), its content
    /// streamed in, then its metadata set through the descriptor.
    private func writeFile(_ entry: TarEntry, from reader: TarReader, parent: FileDescriptor, name: String, path: [String]) throws(ImageError) {
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC
        // Most names are new: create first, and look at what holds the name only when one does.
        var raw = openat(parent.rawValue, name, flags, 0o600)
        if raw < 0 && errno == EEXIST {
            _ = try makeRoom(in: parent, name, path: path, keepingDirectory: false)
            raw = openat(parent.rawValue, name, flags, 0o600)
        }
        if raw < 0 { throw ImageError(SystemError("create \(name)")) }
        let fd = FileDescriptor(rawValue: raw)
        defer { fd.close() }
        try reader.readContent { chunk throws(ImageError) in
            var offset = 0
            while offset < chunk.count {
                let (written, error) = retryingInterrupts { Glibc.write(fd.rawValue, chunk.baseAddress! + offset, chunk.count - offset) }
                if let error { throw ImageError("write: \(error)") }
                offset += written
            }
        }
        try fileMetadata(entry, fd: fd, path: path)
    }

    /// Removes what an earlier member of this layer left at `name`, except a directory that a
    /// directory member merges into (then true).
    private func makeRoom(in parent: FileDescriptor, _ name: String, path: [String], keepingDirectory: Bool) throws(ImageError) -> Bool {
        guard let existing = status(parent, name) else { return false }
        let isDirectory = existing.st_mode & S_IFMT == S_IFDIR
        if isDirectory && keepingDirectory { return true }
        try remove(path, isDirectory: isDirectory, parent: parent, name: name)
        return false
    }

    /// `.wh.NAME` becomes overlayfs's whiteout for NAME; `.wh..wh..opq` marks its directory opaque.
    private func whiteout(_ name: String, in parentPath: [String]) throws(ImageError) {
        let parent = try directory(parentPath)
        if name == LayerPath.opaqueMarker {
            let value: [UInt8] = [UInt8(ascii: "y")]
            try imageStep { () throws(SystemError) in
                try sys("mark \(parentPath.joined(separator: "/"))/ opaque") {
                    berth_fsetxattr(parent.rawValue, LayerPath.opaqueAttribute, value, 1)
                }
            }
            return
        }
        let hidden = String(name.dropFirst(LayerPath.whiteoutPrefix.count))
        if hidden.hasPrefix(LayerPath.whiteoutPrefix) { return }  // other AUFS metadata (.wh..wh.plnk): not content
        guard !hidden.isEmpty, hidden != ".", hidden != ".." else { throw ImageError("whiteout names no file") }
        // A whiteout hides lower layers only; a same-layer file of that name stays.
        if status(parent, hidden) != nil { return }
        try imageStep { () throws(SystemError) in
            try sys("create whiteout for \(hidden)") { mknodat(parent.rawValue, hidden, S_IFCHR, 0) }
        }
    }

    private func hardLink(_ entry: TarEntry, parent: FileDescriptor, name: String) throws(ImageError) {
        let target: [String]
        switch Result(catching: { () throws(ImageError) in try LayerPath.components(entry.linkName) }) {
        case .success(let components): target = components
        case .failure(let error): throw ImageError("hard link target \"\(entry.linkName)\": \(error.message)")
        }
        guard let targetName = target.last else { throw ImageError("hard link to the layer root") }
        let targetParent = try openDirectory(Array(target.dropLast()), create: false, for: "hard link target \"\(entry.linkName)\": directory")
        defer { if targetParent != root { targetParent.close() } }
        guard let info = status(targetParent, targetName) else {
            throw ImageError("hard link target \"\(entry.linkName)\" is not in this layer")
        }
        guard info.st_mode & S_IFMT != S_IFDIR else { throw ImageError("hard link to a directory (\"\(entry.linkName)\")") }
        try imageStep { () throws(SystemError) in
            try sys("link to \(entry.linkName)") { linkat(targetParent.rawValue, targetName, parent.rawValue, name, 0) }
        }
    }

    /// Owner, mode, xattrs and times of a regular file through its open descriptor.
    private func fileMetadata(_ entry: TarEntry, fd: FileDescriptor, path: [String]) throws(ImageError) {
        try imageStep { () throws(SystemError) in
            if ownership { try sys("chown") { fchown(fd.rawValue, entry.uid, entry.gid) } }
            // After chown, which clears setuid/setgid.
            try sys("chmod") { fchmod(fd.rawValue, mode_t(entry.mode)) }
            for (name, value) in entry.xattrs {
                try checkAttribute(name)
                try sys("set xattr \(name)") { berth_fsetxattr(fd.rawValue, name, value, value.count) }
            }
            var times = timespecs(entry)
            try sys("set times") { futimens(fd.rawValue, &times) }
        }
    }

    private func applyMetadata(_ entry: TarEntry, parent: FileDescriptor, name: String, path: [String]) throws(ImageError) {
        let isLink = entry.kind == .symlink
        try imageStep { () throws(SystemError) in
            if ownership { try sys("chown") { fchownat(parent.rawValue, name, entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW) } }
            if !isLink { try sys("chmod") { fchmodat(parent.rawValue, name, mode_t(entry.mode), 0) } }
            if !entry.xattrs.isEmpty {
                let full = ([rootPath] + path).joined(separator: "/")
                for (attribute, value) in entry.xattrs {
                    // Links carry only trusted/security attributes (the kernel refuses user.* on them).
                    if isLink && attribute.hasPrefix("user.") { continue }
                    try checkAttribute(attribute)
                    try sys("set xattr \(attribute)") { berth_lsetxattr(full, attribute, value, value.count) }
                }
            }
            if entry.kind == .directory {
                directoryTimes.append((path, entry.modified, entry.accessed))
            } else {
                var times = timespecs(entry)
                try sys("set times") { utimensat(parent.rawValue, name, &times, AT_SYMLINK_NOFOLLOW) }
            }
        }
    }

    /// Overlayfs's own attributes would let a layer redirect or hide paths: never from a tar.
    private func checkAttribute(_ name: String) throws(SystemError) {
        if name.hasPrefix("trusted.overlay.") || name.hasPrefix("user.overlay.") {
            throw SystemError("xattr \(name) is reserved for overlayfs", .notPermitted)
        }
    }

    private func timespecs(_ entry: TarEntry) -> [timespec] {
        let accessed = entry.accessed ?? entry.modified
        return [timespec(tv_sec: Int(accessed.seconds), tv_nsec: Int(accessed.nanoseconds)),
                timespec(tv_sec: Int(entry.modified.seconds), tv_nsec: Int(entry.modified.nanoseconds))]
    }

    private func applyDirectoryTimes() throws(ImageError) {
        cachedParent?.fd.close()
        cachedParent = nil
        for item in directoryTimes.reversed() {
            let fd = try openDirectory(item.path, create: false, for: "directory \"\(item.path.joined(separator: "/"))\"")
            defer { if fd != root { fd.close() } }
            let accessed = item.accessed ?? item.modified
            var times = [timespec(tv_sec: Int(accessed.seconds), tv_nsec: Int(accessed.nanoseconds)),
                         timespec(tv_sec: Int(item.modified.seconds), tv_nsec: Int(item.modified.nanoseconds))]
            try imageStep { () throws(SystemError) in try sys("set times of \(item.path.joined(separator: "/"))/") { futimens(fd.rawValue, &times) } }
        }
    }

    private func status(_ parent: FileDescriptor, _ name: String) -> stat? {
        var info = stat()
        return fstatat(parent.rawValue, name, &info, AT_SYMLINK_NOFOLLOW) == 0 ? info : nil
    }

    /// Removes what a later member of the same layer replaces.
    private func remove(_ path: [String], isDirectory: Bool, parent: FileDescriptor, name: String) throws(ImageError) {
        if isDirectory {
            if let cached = cachedParent, cached.path.starts(with: path) {
                cached.fd.close()
                cachedParent = nil
            }
            try imageStep { () throws(SystemError) in try FileSystem.removeTree(([rootPath] + path).joined(separator: "/")) }
        } else {
            try imageStep { () throws(SystemError) in try sys("replace \(name)") { unlinkat(parent.rawValue, name, 0) } }
        }
    }

    /// The directory holding a member, created (0755, like tar) where missing.
    private func directory(_ path: [String]) throws(ImageError) -> FileDescriptor {
        if let cachedParent, cachedParent.path == path { return cachedParent.fd }
        let fd = try openDirectory(path, create: true, for: "parent directory")
        cachedParent?.fd.close()
        cachedParent = path.isEmpty ? nil : (path, fd)
        return fd
    }

    /// Walks `path` from the layer root one component at a time without following symlinks.
    /// The returned descriptor is the caller's to close unless it is the root.
    private func openDirectory(_ path: [String], create: Bool, for what: String) throws(ImageError) -> FileDescriptor {
        var current = root
        for (index, component) in path.enumerated() {
            var fd = openat(current.rawValue, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 && errno == ENOENT && create {
                if mkdirat(current.rawValue, component, 0o755) == 0 || errno == EEXIST {
                    fd = openat(current.rawValue, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                }
            }
            let error = Errno.current
            if fd < 0 {
                let shown = path[...index].joined(separator: "/")
                var info = stat()
                let isLink = fstatat(current.rawValue, component, &info, AT_SYMLINK_NOFOLLOW) == 0 && info.st_mode & S_IFMT == S_IFLNK
                if current != root { current.close() }
                if isLink { throw ImageError("\(what) \"\(shown)\" is a symlink: refusing to write through it") }
                if error == Errno(ENOTDIR) || error == Errno(ELOOP) {
                    throw ImageError("\(what) \"\(shown)\" is not a directory")
                }
                throw ImageError("\(what) \"\(shown)\": \(error)")
            }
            if current != root { current.close() }
            current = FileDescriptor(rawValue: fd)
        }
        return current
    }
}
