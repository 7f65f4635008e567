/// One member of a tar archive, with what ustar, pax and GNU headers said about it.
struct TarEntry: Sendable {
    enum Kind: Sendable, Equatable {
        case regular, hardLink, symlink, characterDevice, blockDevice, directory, fifo
    }

    var path: String
    var kind: Kind
    /// Permission bits including setuid, setgid and sticky (07777).
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var size: Int64
    var modified: TarTime
    var accessed: TarTime?
    /// Target of a symlink or hard link.
    var linkName: String
    var deviceMajor: UInt32
    var deviceMinor: UInt32
    /// Extended attributes from pax `SCHILY.xattr.NAME` records.
    var xattrs: [(name: String, value: [UInt8])]
}

/// Seconds and nanoseconds since the epoch.
struct TarTime: Sendable, Equatable {
    var seconds: Int64
    var nanoseconds: Int64
}
