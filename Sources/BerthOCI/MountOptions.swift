
/// mount(2) flag values (MS_*, <linux/mount.h>), typed as the `unsigned long` mount(2) takes.
public enum MountFlag {
    public static let rdonly: UInt = 1
    public static let nosuid: UInt = 2
    public static let nodev: UInt = 4
    public static let noexec: UInt = 8
    public static let synchronous: UInt = 16
    public static let remount: UInt = 32
    public static let mandlock: UInt = 64
    public static let dirsync: UInt = 128
    public static let nosymfollow: UInt = 256
    public static let noatime: UInt = 1024
    public static let nodiratime: UInt = 2048
    public static let bind: UInt = 4096
    public static let rec: UInt = 16384
    public static let silent: UInt = 32768
    public static let unbindable: UInt = 1 << 17
    public static let `private`: UInt = 1 << 18
    public static let slave: UInt = 1 << 19
    public static let shared: UInt = 1 << 20
    public static let relatime: UInt = 1 << 21
    public static let iVersion: UInt = 1 << 23
    public static let strictatime: UInt = 1 << 24
    public static let lazytime: UInt = 1 << 25

    /// Flags that change propagation; mount(2) must get them in a call of their own.
    public static let propagationMask: UInt = unbindable | `private` | slave | shared
}

/// mount_setattr(2) attribute values (MOUNT_ATTR_*), for the recursive `r*` options.
public enum MountAttr {
    public static let rdonly: UInt64 = 0x1
    public static let nosuid: UInt64 = 0x2
    public static let nodev: UInt64 = 0x4
    public static let noexec: UInt64 = 0x8
    /// Mask of the atime mode; setting any mode requires clearing all of it.
    public static let atimeMask: UInt64 = 0x70
    public static let relatime: UInt64 = 0x0
    public static let noatime: UInt64 = 0x10
    public static let strictatime: UInt64 = 0x20
    public static let nodiratime: UInt64 = 0x80
    public static let nosymfollow: UInt64 = 0x20_0000
}

/// A bad entry in a mount's `options`.
public struct MountOptionError: Error, Equatable, Sendable {
    public var index: Int
    public var option: String
    public var message: String
}

/// An OCI mount's `options` resolved into what mount(2) and mount_setattr(2) need.
public struct MountOptions: Equatable, Sendable {
    /// MS_* flags for the mount call, including MS_BIND (and MS_REC for rbind).
    public var flags: UInt = 0
    /// MS_* flags the options explicitly turned off (rw, suid, dev, exec, atime…); a bind
    /// remount must clear these rather than inherit them from the source.
    public var clearedFlags: UInt = 0
    /// Propagation changes in the order given, each MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE,
    /// with MS_REC for the r-forms.
    public var propagation: [UInt] = []
    /// Filesystem-specific options (mode=755, size=65536k, newinstance…), comma-joined.
    public var data: String = ""
    public var isBind: Bool { flags & MountFlag.bind != 0 }
    public var isRecursiveBind: Bool { isBind && flags & MountFlag.rec != 0 }
    /// MOUNT_ATTR_* to set and clear with mount_setattr(AT_RECURSIVE) (rro, rnosuid…).
    public var recursiveAttrSet: UInt64 = 0
    public var recursiveAttrClear: UInt64 = 0
    public var hasRecursiveAttrs: Bool { recursiveAttrSet != 0 || recursiveAttrClear != 0 }

    public init() {}

    private enum Effect {
        case set(UInt)
        case clear(UInt)
        case propagate(UInt)
        case rset(UInt64)
        case rclear(UInt64)
        case ratime(UInt64)
        case none
    }

    // mount(8) names; a later option overrides an earlier one ("ro,rw" is rw).
    private static let table: [String: Effect] = [
        "defaults": .none,
        "ro": .set(MountFlag.rdonly), "rw": .clear(MountFlag.rdonly),
        "nosuid": .set(MountFlag.nosuid), "suid": .clear(MountFlag.nosuid),
        "nodev": .set(MountFlag.nodev), "dev": .clear(MountFlag.nodev),
        "noexec": .set(MountFlag.noexec), "exec": .clear(MountFlag.noexec),
        "sync": .set(MountFlag.synchronous), "async": .clear(MountFlag.synchronous),
        "dirsync": .set(MountFlag.dirsync),
        "remount": .set(MountFlag.remount),
        "mand": .set(MountFlag.mandlock), "nomand": .clear(MountFlag.mandlock),
        "noatime": .set(MountFlag.noatime), "atime": .clear(MountFlag.noatime),
        "nodiratime": .set(MountFlag.nodiratime), "diratime": .clear(MountFlag.nodiratime),
        "relatime": .set(MountFlag.relatime), "norelatime": .clear(MountFlag.relatime),
        "strictatime": .set(MountFlag.strictatime), "nostrictatime": .clear(MountFlag.strictatime),
        "nosymfollow": .set(MountFlag.nosymfollow), "symfollow": .clear(MountFlag.nosymfollow),
        "lazytime": .set(MountFlag.lazytime), "nolazytime": .clear(MountFlag.lazytime),
        "iversion": .set(MountFlag.iVersion), "noiversion": .clear(MountFlag.iVersion),
        "silent": .set(MountFlag.silent), "loud": .clear(MountFlag.silent),
        "bind": .set(MountFlag.bind), "rbind": .set(MountFlag.bind | MountFlag.rec),
        "private": .propagate(MountFlag.private), "rprivate": .propagate(MountFlag.private | MountFlag.rec),
        "shared": .propagate(MountFlag.shared), "rshared": .propagate(MountFlag.shared | MountFlag.rec),
        "slave": .propagate(MountFlag.slave), "rslave": .propagate(MountFlag.slave | MountFlag.rec),
        "unbindable": .propagate(MountFlag.unbindable),
        "runbindable": .propagate(MountFlag.unbindable | MountFlag.rec),
        "rro": .rset(MountAttr.rdonly), "rrw": .rclear(MountAttr.rdonly),
        "rnosuid": .rset(MountAttr.nosuid), "rsuid": .rclear(MountAttr.nosuid),
        "rnodev": .rset(MountAttr.nodev), "rdev": .rclear(MountAttr.nodev),
        "rnoexec": .rset(MountAttr.noexec), "rexec": .rclear(MountAttr.noexec),
        "rnodiratime": .rset(MountAttr.nodiratime), "rdiratime": .rclear(MountAttr.nodiratime),
        "rnosymfollow": .rset(MountAttr.nosymfollow), "rsymfollow": .rclear(MountAttr.nosymfollow),
        "rrelatime": .ratime(MountAttr.relatime), "rnoatime": .ratime(MountAttr.noatime),
        "rstrictatime": .ratime(MountAttr.strictatime),
        // The "off" atime forms fall back to the kernel default mode, relatime.
        "ratime": .ratime(MountAttr.relatime), "rnorelatime": .ratime(MountAttr.relatime),
        "rnostrictatime": .ratime(MountAttr.relatime),
    ]

    /// Spec options berth recognises but cannot honour; refused rather than passed as data.
    public static let unsupported: Set<String> = ["idmap", "ridmap", "tmpcopyup"]

    /// Every option name the parser gives a meaning to (for `features`).
    public static var knownNames: [String] { table.keys.sorted() }

    public static func parse(_ options: [String]) throws(MountOptionError) -> MountOptions {
        var result = MountOptions()
        var data: [String] = []
        for (i, option) in options.enumerated() {
            if option.isEmpty {
                throw MountOptionError(index: i, option: option, message: "empty mount option")
            }
            if unsupported.contains(option) {
                throw MountOptionError(index: i, option: option, message: "\"\(option)\" is not supported by berth")
            }
            guard let effect = table[option] else {
                data.append(option)
                continue
            }
            switch effect {
            case .none:
                break
            case .set(let f):
                result.flags |= f
                result.clearedFlags &= ~f
            case .clear(let f):
                result.flags &= ~f
                result.clearedFlags |= f
            case .propagate(let f):
                result.propagation.append(f)
            case .rset(let a):
                result.recursiveAttrSet |= a
                result.recursiveAttrClear &= ~a
            case .rclear(let a):
                result.recursiveAttrClear |= a
                result.recursiveAttrSet &= ~a
            case .ratime(let mode):
                result.recursiveAttrSet = (result.recursiveAttrSet & ~MountAttr.atimeMask) | mode
                result.recursiveAttrClear |= MountAttr.atimeMask
            }
        }
        // By hand: the stdlib's joined(separator:) is generic code that looks up conformances
        // at run time, a search of the whole binary's records at the first mount of a `run`.
        for (index, option) in data.enumerated() {
            result.data += index == 0 ? option : "," + option
        }
        return result
    }
}

extension Spec.Mount {
    /// The mount's options resolved; `"type": "bind"` counts as a bind mount even without a
    /// bind option, as clients written against runc expect.
    public func parsedOptions() throws(MountOptionError) -> MountOptions {
        var parsed = try MountOptions.parse(options ?? [])
        if type == "bind" && !parsed.isBind { parsed.flags |= MountFlag.bind }
        return parsed
    }
}
