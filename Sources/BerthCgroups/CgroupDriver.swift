import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

public enum FreezerState: String, Codable, Sendable {
    case thawed, freezing, frozen
}

/// One cgroup version's way of doing things, over that version's directories of one cgroup.
/// `Cgroup` composes them: v1 for every controller mounted as v1, v2 for the rest (and, on a
/// hybrid host, for cgroup.kill, cgroup.freeze when v1 has no freezer, and BPF device filters).
public protocol CgroupDriver: Sendable {
    /// 1 or 2.
    var version: Int { get }
    var directories: [Cgroup.Directory] { get }
    /// True when this driver writes the controller's files (v2 names: cpu, cpuset, memory, pids,
    /// io, hugetlb, devices, freezer).
    func drives(_ controller: String) -> Bool
    /// Readies directories just made, before any limit or process lands in them (v1 cpuset copies
    /// the parent's cpus and mems; v2 enables controllers in the parents' cgroup.subtree_control).
    func prepare(created: [String], controllers: Set<String>) throws(CgroupError)
    /// Writes the limits of the controllers this driver drives.
    func apply(_ resources: Resources) throws(CgroupError)
    func addProcess(_ pid: pid_t) throws(CgroupError)
    /// Opens what a new process enters this driver's directories through (see CgroupEntryFiles).
    func openEntryFiles(into files: inout CgroupEntryFiles) throws(CgroupError)
    /// pids in the cgroup and every cgroup below it.
    func processes() throws(CgroupError) -> [pid_t]
    var canFreeze: Bool { get }
    /// Freezes or thaws, returning once the kernel reports the new state.
    func setFrozen(_ frozen: Bool, timeout: Duration) throws(CgroupError)
    func freezerState() throws(CgroupError) -> FreezerState
    /// True when the whole cgroup can be SIGKILLed in one step (v2 cgroup.kill).
    var canKillAtOnce: Bool { get }
    func killAtOnce() throws(CgroupError)
    /// Fills the sections of `stats` for the controllers this driver drives.
    func collect(into stats: inout CgroupStats)
    func oomKillCount() -> UInt64?
    func oomWatcher() throws(CgroupError) -> OOMWatcher
}

/// Shared by both versions: processes over a tree of directories.
func processes(under directories: [String]) throws(CgroupError) -> [pid_t] {
    var result: Set<pid_t> = []
    for directory in directories {
        for dir in CgroupFile.tree(directory) {
            result.formUnion(try CgroupFile.pids(dir + "/cgroup.procs"))
        }
    }
    return result.sorted()
}

func addProcess(_ pid: pid_t, to directory: String) throws(CgroupError) {
    do { try FileSystem.writeKnob("\(pid)", to: directory + "/cgroup.procs") } catch {
        throw CgroupError("add process \(pid) to cgroup \(directory): \(error.errno)", errno: error.errno)
    }
}

/// Directories between a mount point and a cgroup directory, parents first, leaf last
/// ("/sys/fs/cgroup/pids", ".../pids/a/b" → [".../a", ".../a/b"]).
func pathsBelow(mountPoint: String, to path: String) -> [String] {
    guard path.hasPrefix(mountPoint) else { return [] }
    var result: [String] = []
    var current = mountPoint
    for part in path.dropFirst(mountPoint.count).split(separator: "/") {
        current += "/" + String(part)   // String + Substring goes through generic code
        result.append(current)
    }
    return result
}
