import BerthCgroups
import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// What a metrics scrape needs of one container: where its cgroup is, its first process (for
/// its network namespace) and when it was created.
public struct ContainerMetricsInfo: Sendable {
    public var id: String
    public var cgroup: Cgroup
    /// nil once the container's init has exited.
    public var initPID: pid_t?
    /// Seconds since the epoch.
    public var created: Double?
    public var annotations: [String: String]
}

extension Runtime {
    /// The container's cgroup as recorded at create; nil when it has none.
    public func cgroup(id: String) throws -> Cgroup? {
        try StateStore.validate(id: id)
        return try store.load(id: id).cgroup?.cgroup
    }

    /// The container's cgroup, init pid and creation time; nil when it has no cgroup.
    public func metricsInfo(id: String) throws -> ContainerMetricsInfo? {
        try StateStore.validate(id: id)
        let record = try store.load(id: id)
        guard let cgroup = record.cgroup?.cgroup else { return nil }
        let created = Timestamp.seconds(record.created)
        return ContainerMetricsInfo(
            id: id, cgroup: cgroup, initPID: record.initIsRunning ? record.pid : nil,
            created: created, annotations: record.annotations ?? [:])
    }
}
