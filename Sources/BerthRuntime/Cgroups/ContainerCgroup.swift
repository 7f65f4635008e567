import BerthCgroups
import BerthLinux
import BerthOCI
#if canImport(Glibc)
import Glibc
#endif

/// A container's cgroup as the runtime uses it; stored in state.json so any later berth process
/// (delete after a crash included) finds exactly what was made.
struct ContainerCgroup: Codable, Sendable {
    var cgroup: Cgroup

    /// Resolves the path, checks the limits and makes the directory a process is born into
    /// (v2); `complete` makes the rest. Nothing is left behind when this throws.
    static func createForBirth(id: String, cgroupsPath: String?, resources: Spec.Resources?, devices: [Spec.Device]) throws -> (ContainerCgroup, BerthCgroups.Resources) {
        let limits = try BerthCgroups.Resources(oci: resources, devices: devices)
        var cgroup: Cgroup?
        try Self.wrap { () throws(CgroupError) in
            var made = try Cgroup.resolve(host: try CgroupHost.detect(), cgroupsPath: cgroupsPath ?? "", containerID: id)
            try made.createBirthDirectory(for: limits)
            cgroup = made
        }
        return (ContainerCgroup(cgroup: cgroup!), limits)
    }

    /// Makes the rest of the directories and writes the limits, then opens the v1 `tasks` files
    /// through which the born process enters the v1 cgroups (the caller closes them). When this
    /// throws, `created` still names every directory made, for the caller's `destroy`.
    mutating func complete(_ limits: BerthCgroups.Resources) throws -> CgroupEntryFiles {
        var files = CgroupEntryFiles()
        try Self.wrap { () throws(CgroupError) in
            try cgroup.completeDirectories(for: limits)
            try cgroup.applyLimits(limits)
            files = try cgroup.openEntryFiles(version: 1)
        }
        return files
    }

    /// Per hierarchy, the directory name inside the container's /sys/fs/cgroup and the host path
    /// to bind there ("" for a unified host, where the one hierarchy is the whole tree).
    var mountDirectories: [(name: String, hostPath: String)] {
        if cgroup.mode == .unified {
            return cgroup.directories.map { ("", $0.path) }
        }
        return cgroup.directories.map { directory in
            let name = directory.mountPoint.split(separator: "/").last.map(String.init) ?? "unified"
            return (name, directory.path)
        }
    }

    var exists: Bool { cgroup.exists() }

    var isFrozen: Bool { (try? cgroup.freezerState()) == .frozen }

    /// What the container's processes enter the cgroup through as they start (every hierarchy,
    /// or one cgroup `version`); the caller closes it.
    func openEntryFiles(version: Int? = nil) throws -> CgroupEntryFiles {
        var files = CgroupEntryFiles()
        try Self.wrap { () throws(CgroupError) in files = try cgroup.openEntryFiles(version: version) }
        return files
    }
    func processIDs() -> [pid_t] { (try? cgroup.processes()) ?? [] }
    func freeze() throws { try Self.wrap { () throws(CgroupError) in try cgroup.freeze() } }
    func thaw() throws { try Self.wrap { () throws(CgroupError) in try cgroup.thaw() } }
    func signalAll(_ signal: Int32) throws { try Self.wrap { () throws(CgroupError) in try cgroup.killAll(signal: signal) } }
    func killAll() throws { try Self.wrap { () throws(CgroupError) in try cgroup.killAll(signal: SIGKILL) } }

    /// Kills what is left and removes the directories berth made.
    func destroy() throws {
        var cgroup = self.cgroup
        try Self.wrap { () throws(CgroupError) in try cgroup.destroy() }
    }

    /// A refusal that names a field is the config's; anything else is the cgroup step's.
    private static func wrap(_ body: () throws(CgroupError) -> Void) throws {
        if case .failure(let error) = Result(catching: body) {
            throw RuntimeError(error.field == nil ? "cgroup: \(error)" : "config.json: \(error)")
        }
    }
}
