import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// cgroup v2: one directory. On a hybrid host it drives only what v1 left (hugetlb here), and
/// carries cgroup.kill, cgroup.freeze and the BPF device filter.
struct V2Driver: CgroupDriver {
    let directory: Cgroup.Directory

    var version: Int { 2 }
    var directories: [Cgroup.Directory] { [directory] }
    var path: String { directory.path }

    func drives(_ controller: String) -> Bool { directory.controllers.contains(controller) }

    func prepare(created: [String], controllers: Set<String>) throws(CgroupError) {
        let wanted = controllers.intersection(directory.controllers)
        guard !wanted.isEmpty else { return }
        // A controller is usable in a cgroup only when every ancestor, from the root down to the
        // parent, lists it in cgroup.subtree_control. Add only what is missing and offered.
        let parents = [directory.mountPoint] + pathsBelow(mountPoint: directory.mountPoint, to: path).dropLast()
        for parent in parents {
            let enabled = Set((CgroupFile.text(parent + "/cgroup.subtree_control") ?? "").split(separator: " ").map(String.init))
            let offered = Set((CgroupFile.text(parent + "/cgroup.controllers") ?? "").split(separator: " ").map(String.init))
            let missing = wanted.subtracting(enabled).intersection(offered).sorted()
            guard !missing.isEmpty else { continue }
            let value = missing.map { "+" + $0 }.joined(separator: " ")
            do { try FileSystem.writeKnob(value, to: parent + "/cgroup.subtree_control") } catch {
                var hint = ""
                if error.errno == .busy { hint = " (\(parent) has processes of its own; v2 allows controllers only in cgroups without them)" }
                throw CgroupError("enable \(value) in \(parent)/cgroup.subtree_control: \(error.errno)\(hint)", errno: error.errno)
            }
        }
    }

    func addProcess(_ pid: pid_t) throws(CgroupError) {
        try BerthCgroups.addProcess(pid, to: path)
    }

    func processes() throws(CgroupError) -> [pid_t] {
        try BerthCgroups.processes(under: [path])
    }

    var canFreeze: Bool { FileSystem.exists(path + "/cgroup.freeze") }

    func setFrozen(_ frozen: Bool, timeout: Duration) throws(CgroupError) {
        try CgroupFile.write(frozen ? "1" : "0", path + "/cgroup.freeze")
        let want: UInt64 = frozen ? 1 : 0
        let done = try waitUntil(timeout) { () throws(CgroupError) in
            CgroupFile.keyed(path + "/cgroup.events")["frozen"] == want
        }
        if !done {
            if frozen { try? CgroupFile.write("0", path + "/cgroup.freeze") }
            throw CgroupError("\(frozen ? "freeze" : "thaw") \(path): cgroup.events did not report frozen \(want) within \(timeout)")
        }
    }

    func freezerState() throws(CgroupError) -> FreezerState {
        let asked = CgroupFile.text(path + "/cgroup.freeze") == "1"
        let frozen = CgroupFile.keyed(path + "/cgroup.events")["frozen"] == 1
        if asked { return frozen ? .frozen : .freezing }
        return .thawed
    }

    var canKillAtOnce: Bool { FileSystem.exists(path + "/cgroup.kill") }

    func killAtOnce() throws(CgroupError) {
        try CgroupFile.write("1", path + "/cgroup.kill")
    }

    func apply(_ resources: Resources) throws(CgroupError) {
        try V2Limits(driver: self).apply(resources)
    }

    func oomKillCount() -> UInt64? {
        guard drives("memory") else { return nil }
        return CgroupFile.keyed(path + "/memory.events")["oom_kill"]
    }

    func oomWatcher() throws(CgroupError) -> OOMWatcher {
        try OOMWatcher(v2Directory: path)
    }

    func collect(into stats: inout CgroupStats) {
        V2Stats.collect(self, into: &stats)
    }
}
