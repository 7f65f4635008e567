import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// Where a blob of an image being imported lives: a file range, so layers stream from their
/// place in an archive without being extracted first.
struct BlobLocation {
    var fd: FileDescriptor
    var offset: Int64
    var length: Int64
    /// How errors name it ("blobs/sha256/…" or the archive member).
    var name: String
}

/// An image layout directory or an (uncompressed) tar archive, read-only.
final class BlobSource {
    private let directory: String?
    private let archive: FileDescriptor?
    private var members: [String: (offset: Int64, length: Int64)] = [:]
    private var opened: [FileDescriptor] = []
    let displayName: String

    /// A directory: an OCI image layout.
    init(directory: String) {
        self.directory = directory
        self.archive = nil
        self.displayName = directory
    }

    /// A tar archive: indexes its regular members by name (symlinks and hard links between
    /// members are followed inside the archive only).
    init(archive path: String) throws(ImageError) {
        directory = nil
        displayName = path
        let fd = try imageStep { () throws(SystemError) in try FileDescriptor.open(path, O_RDONLY) }
        archive = fd
        var info = stat()
        guard fstat(fd.rawValue, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            fd.close()
            throw ImageError("\(path): not a regular file or directory")
        }
        let reader = TarReader(FileRangeStream(fd: fd, name: path, offset: 0, length: Int64(info.st_size)))
        var links: [(name: String, target: String)] = []
        switch Result(catching: { () throws(ImageError) in
            while let entry = try reader.next() {
                let name = BlobSource.normalize(entry.path)
                switch entry.kind {
                case .regular: members[name] = (reader.position, entry.size)
                case .hardLink: links.append((name, BlobSource.normalize(entry.linkName)))
                case .symlink:
                    // Relative to the member's directory, as `docker save` writes them.
                    let base = name.split(separator: "/").dropLast().joined(separator: "/")
                    links.append((name, BlobSource.normalize(entry.linkName.hasPrefix("/") ? entry.linkName : base + "/" + entry.linkName)))
                default: break
                }
            }
        }) {
        case .success: break
        case .failure(let error):
            fd.close()
            throw error.within(path)
        }
        for link in links { if let target = members[link.target] { members[link.name] = target } }
    }

    deinit {
        archive?.close()
        for fd in opened { fd.close() }
    }

    /// `a/./b/../c` → `a/c`; leading `./` and `/` dropped. (Names are looked up in the index,
    /// never used as paths.)
    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return parts.joined(separator: "/")
    }

    /// The member or file `name` (a fixed name or one built from a checked digest), or nil.
    func locate(_ name: String) throws(ImageError) -> BlobLocation? {
        if let archive {
            guard let member = members[BlobSource.normalize(name)] else { return nil }
            return BlobLocation(fd: archive, offset: member.offset, length: member.length, name: name)
        }
        let path = directory! + "/" + name
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw ImageError("open \(path): \(Errno.current)")
        }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw ImageError("\(path): not a regular file")
        }
        let descriptor = FileDescriptor(rawValue: fd)
        opened.append(descriptor)
        return BlobLocation(fd: descriptor, offset: 0, length: Int64(info.st_size), name: name)
    }

    /// A whole small document (index, manifest, config), refusing anything over `limit` bytes.
    func read(_ location: BlobLocation, limit: Int64 = 8 << 20) throws(ImageError) -> [UInt8] {
        guard location.length <= limit else {
            throw ImageError("\(location.name) is \(location.length) bytes: more than the \(limit >> 20) MiB a document may have")
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(location.length), alignment: 16)
        defer { buffer.deallocate() }
        let stream = FileRangeStream(fd: location.fd, name: location.name, offset: location.offset, length: location.length)
        var filled = 0
        while filled < buffer.count {
            let count = try stream.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if count == 0 { throw ImageError("\(location.name) is truncated") }
            filled += count
        }
        return Array(buffer)
    }
}
