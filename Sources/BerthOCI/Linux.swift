
extension Spec {
    /// config.json `linux`.
    public struct Linux: Codable, Sendable, Equatable {
        public var namespaces: [Namespace]?
        public var uidMappings: [IDMapping]?
        public var gidMappings: [IDMapping]?
        /// Keyed by clock: "monotonic" or "boottime".
        public var timeOffsets: [String: TimeOffset]?
        public var devices: [Device]?
        public var netDevices: [String: NetDevice]?
        public var cgroupsPath: String?
        public var resources: Resources?
        public var rootfsPropagation: String?
        public var seccomp: Seccomp?
        public var sysctl: [String: String]?
        public var maskedPaths: [String]?
        public var readonlyPaths: [String]?
        public var mountLabel: String?
        public var intelRdt: IntelRdt?
        public var personality: Personality?

        public init(
            namespaces: [Namespace]? = nil, uidMappings: [IDMapping]? = nil, gidMappings: [IDMapping]? = nil,
            timeOffsets: [String: TimeOffset]? = nil, devices: [Device]? = nil, netDevices: [String: NetDevice]? = nil,
            cgroupsPath: String? = nil, resources: Resources? = nil, rootfsPropagation: String? = nil,
            seccomp: Seccomp? = nil, sysctl: [String: String]? = nil, maskedPaths: [String]? = nil,
            readonlyPaths: [String]? = nil, mountLabel: String? = nil, intelRdt: IntelRdt? = nil,
            personality: Personality? = nil
        ) {
            self.namespaces = namespaces
            self.uidMappings = uidMappings
            self.gidMappings = gidMappings
            self.timeOffsets = timeOffsets
            self.devices = devices
            self.netDevices = netDevices
            self.cgroupsPath = cgroupsPath
            self.resources = resources
            self.rootfsPropagation = rootfsPropagation
            self.seccomp = seccomp
            self.sysctl = sysctl
            self.maskedPaths = maskedPaths
            self.readonlyPaths = readonlyPaths
            self.mountLabel = mountLabel
            self.intelRdt = intelRdt
            self.personality = personality
        }

        /// The entry for a namespace type, if listed.
        public func namespace(_ type: String) -> Namespace? {
            namespaces?.first { $0.type == type }
        }

        /// True when the container gets a namespace of this type that is not the host's
        /// (a new one, or one joined by path).
        public func hasNamespace(_ type: String) -> Bool {
            namespace(type) != nil
        }

        /// True when the container creates a fresh namespace of this type.
        public func createsNamespace(_ type: String) -> Bool {
            guard let ns = namespace(type) else { return false }
            return (ns.path ?? "").isEmpty
        }
    }

    public struct Namespace: Codable, Sendable, Equatable {
        /// One of `LinuxNamespace.types`.
        public var type: String
        /// Join this namespace instead of creating one.
        public var path: String?

        public init(type: String, path: String? = nil) {
            self.type = type
            self.path = path
        }
    }

    public struct TimeOffset: Codable, Sendable, Equatable {
        public var secs: Int64?
        public var nanosecs: UInt32?

        public init(secs: Int64? = nil, nanosecs: UInt32? = nil) {
            self.secs = secs
            self.nanosecs = nanosecs
        }
    }

    /// A device node to create in the container.
    public struct Device: Codable, Sendable, Equatable {
        /// c, b, u (unbuffered character) or p (FIFO).
        public var type: String
        public var path: String
        public var major: Int64?
        public var minor: Int64?
        public var fileMode: UInt32?
        public var uid: UInt32?
        public var gid: UInt32?

        public init(
            type: String, path: String, major: Int64? = nil, minor: Int64? = nil,
            fileMode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil
        ) {
            self.type = type
            self.path = path
            self.major = major
            self.minor = minor
            self.fileMode = fileMode
            self.uid = uid
            self.gid = gid
        }
    }

    public struct NetDevice: Codable, Sendable, Equatable {
        public var name: String?

        public init(name: String? = nil) { self.name = name }
    }

    public struct IntelRdt: Codable, Sendable, Equatable {
        public var closID: String?
        public var l3CacheSchema: String?
        public var memBwSchema: String?
        public var enableCMT: Bool?
        public var enableMBM: Bool?

        public init(
            closID: String? = nil, l3CacheSchema: String? = nil, memBwSchema: String? = nil,
            enableCMT: Bool? = nil, enableMBM: Bool? = nil
        ) {
            self.closID = closID
            self.l3CacheSchema = l3CacheSchema
            self.memBwSchema = memBwSchema
            self.enableCMT = enableCMT
            self.enableMBM = enableMBM
        }

        var isEmpty: Bool {
            (closID ?? "").isEmpty && (l3CacheSchema ?? "").isEmpty && (memBwSchema ?? "").isEmpty
                && enableCMT != true && enableMBM != true
        }
    }

    public struct Personality: Codable, Sendable, Equatable {
        /// "LINUX" or "LINUX32".
        public var domain: String
        public var flags: [String]?

        public init(domain: String, flags: [String]? = nil) {
            self.domain = domain
            self.flags = flags
        }
    }
}

/// Namespace types of the runtime-spec and their CLONE_* flags.
public enum LinuxNamespace {
    public static let cloneFlags: [String: UInt64] = [
        "mount": 0x0002_0000,  // CLONE_NEWNS
        "cgroup": 0x0200_0000,  // CLONE_NEWCGROUP
        "uts": 0x0400_0000,  // CLONE_NEWUTS
        "ipc": 0x0800_0000,  // CLONE_NEWIPC
        "user": 0x1000_0000,  // CLONE_NEWUSER
        "pid": 0x2000_0000,  // CLONE_NEWPID
        "network": 0x4000_0000,  // CLONE_NEWNET
        "time": 0x80,  // CLONE_NEWTIME
    ]

    /// In the order the spec lists them.
    public static let types = ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"]

    /// The name of the namespace under /proc/PID/ns/ (differs for network and mount).
    public static let procName: [String: String] = [
        "pid": "pid", "network": "net", "mount": "mnt", "ipc": "ipc",
        "uts": "uts", "user": "user", "cgroup": "cgroup", "time": "time",
    ]
}
