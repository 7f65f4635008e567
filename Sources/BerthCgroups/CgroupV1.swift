import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// cgroup v1: one directory per mounted hierarchy (cpu, cpuacct, memory, ... and named ones such
/// as name=systemd, which get the process but no limits).
struct V1Driver: CgroupDriver {
    let directories: [Cgroup.Directory]

    var version: Int { 1 }

    /// The directory holding a controller (v2 names: "io" is blkio).
    func directory(for controller: String) -> String? {
        let name = controller == "io" ? "blkio" : controller
        return directories.first { $0.controllers.contains(name) }?.path
    }

    func drives(_ controller: String) -> Bool { directory(for: controller) != nil }

    func prepare(created: [String], controllers: Set<String>) throws(CgroupError) {
        // A new cpuset cgroup starts with empty cpus and mems (unless its parent has
        // clone_children, which copies the same), and no process may join it until both are
        // filled: copy them from the parent, top-down.
        guard let cpuset = directories.first(where: { $0.controllers.contains("cpuset") }) else { return }
        for dir in created where dir.hasPrefix(cpuset.mountPoint + "/") {
            let parent = FileSystem.parentDirectory(of: dir)
            for file in ["cpuset.cpus", "cpuset.mems"] {
                let inherited = CgroupFile.text(parent + "/" + file) ?? ""
                do { try FileSystem.writeKnob(inherited, to: dir + "/" + file) } catch {
                    throw CgroupError("copy \(file) of \(parent) into \(dir): \(error.errno)", errno: error.errno)
                }
            }
        }
    }

    func addProcess(_ pid: pid_t) throws(CgroupError) {
        for directory in directories { try BerthCgroups.addProcess(pid, to: directory.path) }
    }

    func processes() throws(CgroupError) -> [pid_t] {
        try BerthCgroups.processes(under: directories.map(\.path))
    }

    var canFreeze: Bool { directory(for: "freezer") != nil }

    func setFrozen(_ frozen: Bool, timeout: Duration) throws(CgroupError) {
        guard let dir = directory(for: "freezer") else { throw CgroupError("no v1 freezer") }
        let file = dir + "/freezer.state"
        let target = frozen ? "FROZEN" : "THAWED"
        try CgroupFile.write(target, file)
        var rounds = 0
        let done = try waitUntil(timeout) { () throws(CgroupError) in
            let state = try CgroupFile.read(file).trimmingCharacters(in: " \n")
            if state == target { return true }
            // A task in an unfreezable sleep can leave the cgroup FREEZING: asking again retries it.
            rounds += 1
            if rounds % 10 == 0 { try CgroupFile.write(target, file) }
            return false
        }
        if !done {
            if frozen { try? CgroupFile.write("THAWED", file) }
            throw CgroupError("\(frozen ? "freeze" : "thaw") \(dir): still \((CgroupFile.text(file) ?? "?")) after \(timeout)")
        }
    }

    func freezerState() throws(CgroupError) -> FreezerState {
        guard let dir = directory(for: "freezer") else { return .thawed }
        switch try CgroupFile.read(dir + "/freezer.state").trimmingCharacters(in: " \n") {
        case "FROZEN": return .frozen
        case "FREEZING": return .freezing
        default: return .thawed
        }
    }

    var canKillAtOnce: Bool { false }

    func killAtOnce() throws(CgroupError) { throw CgroupError("cgroup v1 has no cgroup.kill") }

    func apply(_ resources: Resources) throws(CgroupError) {
        try V1Limits(driver: self).apply(resources)
    }

    func oomKillCount() -> UInt64? {
        guard let dir = directory(for: "memory") else { return nil }
        return CgroupFile.keyed(dir + "/memory.oom_control")["oom_kill"]
    }

    func oomWatcher() throws(CgroupError) -> OOMWatcher {
        guard let dir = directory(for: "memory") else { throw CgroupError("no v1 memory controller") }
        return try OOMWatcher(v1MemoryDirectory: dir)
    }

    func collect(into stats: inout CgroupStats) {
        V1Stats.collect(self, into: &stats)
    }
}
