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
    /// The spec as create applied it. Kept parsed but not decoded: start, state, kill and
    /// delete need a field or two of it, and decoding all of it was a third of their work.
    var specDocument: Deferred<Spec>
    var cgroup: ContainerCgroup?

    enum CodingKeys: String, CodingKey {
        case id, bundle, rootfs, status, pid, pidStartTime, created, owner, bootID, cgroup
        case specDocument = "spec"
    }

    static let specSource = "state.json spec"

    /// The whole spec, for the commands that need it (exec, update).
    func spec() throws(OCIError) -> Spec { try specDocument.value(source: Self.specSource) }

    func hooks() throws(OCIError) -> Spec.Hooks? {
        try specDocument.member("hooks", as: Spec.Hooks.self, source: Self.specSource) { $0.hooks }
    }

    /// Metadata only: an unreadable annotations member reads as none.
    var annotations: [String: String]? {
        (try? specDocument.member("annotations", as: [String: String].self, source: Self.specSource) { $0.annotations }) ?? nil
    }

    init(id: String, bundle: String, rootfs: String, specDocument: Deferred<Spec>) {
        self.id = id
        self.bundle = bundle
        self.rootfs = rootfs
        self.status = .creating
        self.created = Timestamp.now()
        self.owner = "root"
        self.bootID = ProcFS.bootID()
        self.specDocument = specDocument
    }

    /// True while the container's first process is the one berth started.
    var initIsRunning: Bool {
        bootID == ProcFS.bootID() && ProcFS.isRunning(pid: pid, startTime: pidStartTime)
    }

    /// True once the container's cgroup counted an OOM kill (readable until delete removes it).
    var sawOOMKill: Bool { (cgroup?.cgroup.oomKillCount() ?? 0) > 0 }

    /// The OCI state handed to hooks and printed by `berth state`.
    func ociState(status: ContainerState.Status) -> ContainerState {
        ContainerState(id: id, status: status, pid: status == .stopped ? 0 : pid, bundle: bundle, annotations: annotations)
    }

    func ociStateJSON(status: ContainerState.Status) -> [UInt8] {
        (try? OCIJSON.encodeBytes(ociState(status: status), pretty: false)) ?? []
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
