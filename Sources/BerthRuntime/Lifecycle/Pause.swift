import BerthLinux
import BerthOCI

extension Runtime {
    /// Freezes every process of the container (cgroup freezer).
    public func pause(id: String) throws {
        try withLockedContainer(id) { record, _ in
            let status = status(of: record)
            guard status == .running || status == .created, let cgroup = record.cgroup else {
                throw RuntimeError("cannot pause container \"\(id)\": it is \(status.rawValue)")
            }
            try cgroup.freeze()
            record.status = .paused
            try store.save(record)
        }
    }

    public func resume(id: String) throws {
        try withLockedContainer(id) { record, _ in
            let status = status(of: record)
            guard status == .paused, let cgroup = record.cgroup else {
                throw RuntimeError("cannot resume container \"\(id)\": it is \(status.rawValue), not paused")
            }
            try cgroup.thaw()
            record.status = .running
            try store.save(record)
        }
    }
}
