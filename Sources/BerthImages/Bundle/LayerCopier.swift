import BerthLinux
import CBerthCompress
#if canImport(Glibc)
import Glibc
#endif

/// The copy backend: applies unpacked layers (overlay form) one over another into a plain
/// directory, doing what overlayfs does at lookup time. A 0:0 character device removes what
/// lower layers put at its name; an opaque directory drops their contents; anything else
/// replaces what was there. Owners, modes, xattrs, times and hard links are kept.
///
/// Paths under `onto` are only ever directories this copier made, and every final component
/// is handled with lstat/O_NOFOLLOW, so a symlink from a lower layer is never followed.
enum LayerCopier {
    static func apply(layer: String, onto target: String) throws(ImageError) {
        var links: [HardLinkKey: String] = [:]
        try imageStep { () throws(SystemError) in try copyDirectory(layer, target, links: &links) }
    }

    private struct HardLinkKey: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    private static func copyDirectory(_ source: String, _ target: String, links: inout [HardLinkKey: String]) throws(SystemError) {
        for name in try FileSystem.listDirectory(source) {
            let from = source + "/" + name
            let to = target + "/" + name
            var info = stat()
            try sys("lstat \(from)") { lstat(from, &info) }
            let type = info.st_mode & S_IFMT
            var existing = stat()
            let exists = lstat(to, &existing) == 0
            if type == S_IFCHR && info.st_rdev == 0 {
                // A whiteout.
                if exists { try FileSystem.removeTree(to) }
                continue
            }
            if type == S_IFDIR {
                if exists && existing.st_mode & S_IFMT != S_IFDIR {
                    try FileSystem.removeTree(to)
                }
                if !exists || existing.st_mode & S_IFMT != S_IFDIR {
                    try sys("mkdir \(to)") { mkdir(to, 0o700) }
                } else if isOpaque(from) {
                    for child in try FileSystem.listDirectory(to) { try FileSystem.removeTree(to + "/" + child) }
                }
                try copyDirectory(from, to, links: &links)
                try copyMetadata(from, to, info)
                continue
            }
            if exists { try FileSystem.removeTree(to) }
            let key = HardLinkKey(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
            if info.st_nlink > 1, let first = links[key] {
                try sys("link \(to)") { link(first, to) }
                continue
            }
            switch type {
            case S_IFREG:
                let input = try FileDescriptor.open(from, O_RDONLY | O_NOFOLLOW)
                defer { input.close() }
                let output = try FileDescriptor.open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
                defer { output.close() }
                try sys("copy \(from)") { berth_copy_file(input.rawValue, output.rawValue, UInt64(info.st_size)) }
            case S_IFLNK:
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let count = try sys("readlink \(from)") { readlink(from, &buffer, buffer.count - 1) }
                let destination = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                try sys("symlink \(to)") { symlink(destination, to) }
            default:
                try sys("mknod \(to)") { mknod(to, info.st_mode, info.st_rdev) }
            }
            try copyMetadata(from, to, info)
            if info.st_nlink > 1 { links[key] = to }
        }
    }

    private static func isOpaque(_ path: String) -> Bool {
        var value = [UInt8](repeating: 0, count: 4)
        let count = berth_lgetxattr(path, LayerPath.opaqueAttribute, &value, value.count)
        return count == 1 && value[0] == UInt8(ascii: "y")
    }

    /// Owner, mode, xattrs (not overlayfs's own) and times, never through a symlink.
    private static func copyMetadata(_ from: String, _ to: String, _ info: stat) throws(SystemError) {
        let isLink = info.st_mode & S_IFMT == S_IFLNK
        try sys("chown \(to)") { lchown(to, info.st_uid, info.st_gid) }
        if !isLink { try sys("chmod \(to)") { chmod(to, info.st_mode & 0o7777) } }
        let size = berth_llistxattr(from, nil, 0)
        if size > 0 {
            var names = [CChar](repeating: 0, count: size)
            let listed = berth_llistxattr(from, &names, size)
            var start = 0
            for index in 0..<max(0, listed) where names[index] == 0 {
                let name = String(decoding: names[start..<index].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                start = index + 1
                if name.hasPrefix("trusted.overlay.") { continue }
                let length = berth_lgetxattr(from, name, nil, 0)
                guard length >= 0 else { continue }
                var value = [UInt8](repeating: 0, count: length)
                let read = berth_lgetxattr(from, name, &value, value.count)
                guard read >= 0 else { continue }
                try sys("set xattr \(name) on \(to)") { berth_lsetxattr(to, name, value, read) }
            }
        }
        var times = [info.st_atim, info.st_mtim]
        try sys("set times of \(to)") { utimensat(AT_FDCWD, to, &times, AT_SYMLINK_NOFOLLOW) }
    }
}
