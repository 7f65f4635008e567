import BerthLinux
import BerthOCI
#if canImport(Glibc)
import Glibc
#endif

extension Runtime {
    public func state(id: String) throws -> ContainerState {
        try StateStore.validate(id: id)
        let record = try store.load(id: id)
        return record.ociState(status: status(of: record))
    }

    /// `berth state`: the OCI state plus `oomKilled` when the container's cgroup saw OOM kills.
    public func stateReport(id: String) throws -> ContainerStateReport {
        try StateStore.validate(id: id)
        let record = try store.load(id: id)
        return ContainerStateReport(record.ociState(status: status(of: record)), oomKilled: record.sawOOMKill ? true : nil)
    }

    public func list() throws -> [ContainerSummary] {
        try store.ids().compactMap { id in
            guard let record = try? store.load(id: id) else { return nil }
            let status = status(of: record)
            return ContainerSummary(
                ociVersion: BerthOCI.ociVersion, id: id, pid: status == .stopped ? 0 : record.pid,
                status: status.rawValue, bundle: record.bundle, rootfs: record.rootfs,
                created: record.created, owner: record.owner, annotations: record.annotations)
        }
    }

    /// Every process in the container's cgroup.
    public func processes(id: String) throws -> [ContainerProcess] {
        try StateStore.validate(id: id)
        let record = try store.load(id: id)
        guard let cgroup = record.cgroup else { return [] }
        return cgroup.processIDs().sorted().compactMap { pid -> ContainerProcess? in
            guard let status = try? FileSystem.readString("/proc/\(pid)/status") else { return nil }
            var fields: [String: String] = [:]
            for line in status.split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                fields[String(line[..<colon])] = String(line[line.index(after: colon)...]).trimmingCharacters(in: " \t")
            }
            let cmdline = (try? FileSystem.readBytes("/proc/\(pid)/cmdline")) ?? []
            var command = String(decoding: cmdline.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).trimmingCharacters(in: " ")
            if command.isEmpty { command = "[\(fields["Name"] ?? "?")]" }
            return ContainerProcess(
                pid: pid, parentPID: Int32(fields["PPid"] ?? "") ?? 0,
                uid: UInt32(fields["Uid"]?.split(separator: "\t").first ?? "") ?? 0,
                state: String(fields["State"]?.prefix(1) ?? "?"), command: command)
        }
    }
}

/// The OCI state fields and berth's extra `oomKilled` (present only when true).
public struct ContainerStateReport: Encodable, Sendable {
    public var ociVersion: String
    public var id: String
    public var status: ContainerState.Status
    public var pid: Int32?
    public var bundle: String
    public var annotations: [String: String]?
    public var oomKilled: Bool?

    init(_ state: ContainerState, oomKilled: Bool?) {
        ociVersion = state.ociVersion
        id = state.id
        status = state.status
        pid = state.pid
        bundle = state.bundle
        annotations = state.annotations
        self.oomKilled = oomKilled
    }
}
