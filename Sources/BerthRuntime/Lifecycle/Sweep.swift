import BerthCgroups
import BerthLinux
import BerthOCI

extension Runtime {
    /// Removes cgroups under `parent` (a relative cgroupsPath such as "berth") that no container
    /// of this state root names and that hold no process. Returns the cgroupsPaths removed.
    /// Other state roots may share the parent: a busy cgroup is always left alone.
    public func sweepCgroups(parent: String = "berth") throws -> [String] {
        let host: CgroupHost
        let children: [String]
        switch Result(catching: { () throws(CgroupError) in try CgroupHost.detect() }) {
        case .success(let value): host = value
        case .failure(let error): throw RuntimeError("sweep: cgroup: \(error)")
        }
        switch Result(catching: { () throws(CgroupError) in try Cgroup.children(host: host, of: parent) }) {
        case .success(let value): children = value
        case .failure(let error): throw RuntimeError("sweep: \(error)")
        }
        var known: Set<String> = []
        for id in try store.ids() {
            guard let record = try? store.load(id: id) else {
                // A container being created or unreadable: its default path counts as taken.
                known.insert(parent + "/" + id)
                continue
            }
            if let path = record.cgroup?.cgroup.cgroupsPath { known.insert(path) }
            known.insert(parent + "/" + id)
        }
        var removed: [String] = []
        for path in children where !known.contains(path) {
            let result = Result { () throws(CgroupError) -> Bool in
                var cgroup = try Cgroup.leftover(host: host, cgroupsPath: path)
                guard try cgroup.processes().isEmpty else { return false }
                try cgroup.destroy()
                return true
            }
            switch result {
            case .success(true): removed.append(path)
            case .success(false): log.debug("sweep: \(path) still has processes; left alone")
            case .failure(let error): throw RuntimeError("sweep: \(error)")
            }
        }
        return removed
    }
}
