import BerthLinux
import CBerth
#if canImport(Glibc)
import Glibc
#endif

/// Everything the C child path will do, resolved in Swift: the Swift twin of `berth_plan`.
/// `field` strings name the config entry each step came from, for error messages.
public struct ChildPlan: Sendable {
    public enum Mode: Sendable { case create, exec }

    public struct Namespace: Sendable, Equatable {
        public var type: Int32          // CLONE_NEW*
        public var path: String?        // join; nil = new
        public var field: String
    }

    public struct Mount: Sendable, Equatable {
        public var source: String
        public var target: String
        public var fstype: String?      // nil = bind
        public var flags: UInt
        public var propagation: UInt
        public var data: String?
        public var bind: Int32          // 0 no, 1 bind, 2 rbind
        public var targetIsFile: Bool
        public var field: String
        /// Binds the container's own cgroup, which is complete only once GO comes.
        public var needsCgroup = false
    }

    public struct Device: Sendable, Equatable {
        public var path: String
        public var mode: mode_t         // S_IF* | permissions
        public var major: UInt32
        public var minor: UInt32
        public var uid: uid_t
        public var gid: gid_t
        public var bindFromHost: Bool
        public var field: String
    }

    public struct Hook: Sendable, Equatable {
        public var path: String
        public var arguments: [String]
        public var environment: [String]
        public var timeoutSeconds: Int32
        public var field: String
    }

    public struct Rlimit: Sendable, Equatable {
        public var resource: Int32
        public var soft: UInt64
        public var hard: UInt64
        public var field: String
    }

    public struct Capabilities: Sendable, Equatable {
        public var bounding: UInt64 = 0
        public var effective: UInt64 = 0
        public var permitted: UInt64 = 0
        public var inheritable: UInt64 = 0
        public var ambient: UInt64 = 0
        public init() {}
    }

    public struct Process: Sendable {
        public var arguments: [String] = []
        public var environment: [String] = []
        public var cwd: String = "/"
        public var uid: uid_t = 0
        public var gid: gid_t = 0
        public var additionalGids: [gid_t] = []
        public var umask: mode_t?
        public var rlimits: [Rlimit] = []
        public var capabilities: Capabilities?
        public var noNewPrivileges = false
        public var seccompFilter: [sock_filter]?
        public var seccompFlags: UInt32 = 0
        public var terminal = false
        public var consoleSocket: Int32 = -1
        public var stdio: (Int32, Int32, Int32) = (-1, -1, -1)
        public var preserveFDs: [Int32] = []
        public init() {}
    }

    public var mode: Mode = .create
    public var namespaces: [Namespace] = []
    public var waitForIDMaps = false
    public var rootfs = "/"
    public var rootfsReadonly = false
    public var rootfsPropagation: UInt = 0
    public var mounts: [Mount] = []
    public var devices: [Device] = []
    public var symlinks: [(target: String, link: String)] = []
    public var maskedPaths: [String] = []
    public var readonlyPaths: [String] = []
    public var sysctls: [(key: String, value: String, field: String)] = []
    public var hostname: String?
    public var domainname: String?
    public var runCreateHooks = false
    public var startHooks: [Hook] = []
    public var process = Process()

    public init() {}

    /// True when the plan creates (not joins) a namespace of this type.
    public func createsNamespace(_ type: Int32) -> Bool {
        namespaces.contains { $0.type == type && $0.path == nil }
    }

    public func hasNamespace(_ type: Int32) -> Bool {
        namespaces.contains { $0.type == type }
    }
}
