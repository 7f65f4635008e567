import BerthLinux
import BerthOCI
#if canImport(Glibc)
import Glibc
#endif

/// What berth keeps about one container in <root>/<id>/state.json. Readable with `cat`.
struct ContainerRecord: Codable, Sendable {
    var id: String
    var bundle: String
    var rootfs: String
    /// The last status berth wrote; `Runtime.status(of:)` checks it against the kernel.
    var status: ContainerState.Status
    var pid: Int32 = 0
    /// Start time of `pid` in clock ticks: a recycled pid never passes for the container.
    var pidStartTime: UInt64?
    var created: String
    var owner: String
    var bootID: String
    var spec: Spec
    var cgroup: ContainerCgroup?

    init(id: String, bundle: String, rootfs: String, spec: Spec) {
        self.id = id
        self.bundle = bundle
        self.rootfs = rootfs
        self.status = .creating
        self.created = Timestamp.now()
        self.owner = "root"
        self.bootID = ProcFS.bootID()
        self.spec = spec
    }

    /// True while the container's first process is the one berth started.
    var initIsRunning: Bool {
        bootID == ProcFS.bootID() && ProcFS.isRunning(pid: pid, startTime: pidStartTime)
    }

    /// True once the container's cgroup counted an OOM kill (readable until delete removes it).
    var sawOOMKill: Bool { (cgroup?.cgroup.oomKillCount() ?? 0) > 0 }

    /// The OCI state handed to hooks and printed by `berth state`.
    func ociState(status: ContainerState.Status) -> ContainerState {
        ContainerState(id: id, status: status, pid: status == .stopped ? 0 : pid, bundle: bundle, annotations: spec.annotations)
    }

    func ociStateJSON(status: ContainerState.Status) -> [UInt8] {
        (try? Array(ociState(status: status).encode(pretty: false))) ?? []
    }
}

/// One line of `berth list --format json`, named as runc names them.
public struct ContainerSummary: Codable, Sendable {
    public var ociVersion: String
    public var id: String
    public var pid: Int32
    public var status: String
    public var bundle: String
    public var rootfs: String
    public var created: String
    public var owner: String
    public var annotations: [String: String]?
}

/// One line of `berth ps`.
public struct ContainerProcess: Sendable {
    public var pid: Int32
    public var parentPID: Int32
    public var uid: UInt32
    public var state: String
    public var command: String
}
