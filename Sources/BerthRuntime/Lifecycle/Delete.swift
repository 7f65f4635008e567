import BerthLinux
import BerthOCI
#if canImport(Glibc)
import Glibc
#endif

extension Runtime {
    /// Removes a stopped container: poststop hooks, its cgroups, its state. With `force` any
    /// container is first killed, including one whose `create` was itself killed half-way.
    public func delete(id: String, force: Bool) throws {
        let lock: ContainerLock
        do {
            lock = try store.lock(id: id)
        } catch let error as RuntimeError where force && error == .notFound(id) {
            return
        }
        defer { lock.unlock() }
        guard let record = try? store.load(id: id) else {
            // A create killed before it wrote its first state leaves only the directory.
            guard force else { throw RuntimeError("container \"\(id)\" has no readable state: use delete --force") }
            try store.remove(id: id)
            return
        }
        let status = status(of: record)
        if status != .stopped {
            guard force else {
                throw RuntimeError("cannot delete container \"\(id)\": it is \(status.rawValue) (stop it first, or use --force)")
            }
            try killEverything(record)
        }
        try remove(record)
    }

    /// Deletes the container `run` made once its init is reaped, from the record `run` holds:
    /// nothing else changes a container's cgroup, hooks or annotations, so state.json is not
    /// read again. Gone already (deleted by someone else meanwhile) is fine.
    func deleteAfterRun(_ record: ContainerRecord) throws {
        let lock: ContainerLock
        do {
            lock = try store.lock(id: record.id)
        } catch let error as RuntimeError where error == .notFound(record.id) {
            return
        }
        defer { lock.unlock() }
        try remove(record)
    }

    /// What delete does once nothing of the container runs but what its cgroup still holds:
    /// the cgroup (killing what is left), poststop hooks, the image rootfs, the state. The
    /// caller holds the lock.
    private func remove(_ record: ContainerRecord) throws {
        let id = record.id
        if let cgroup = record.cgroup { try cgroup.destroy() }
        if record.status != .creating {
            do {
                try HookRunner(hooks: try record.hooks(), state: record.ociStateJSON(status: .stopped)).run(.poststop)
            } catch {
                log.debug("delete \(id): warning: \(error)")
            }
        }
        // An image rootfs (berth image bundle): unmount it and remove its upper dir. A refusal
        // must not make the container undeletable, so it is reported, not fatal.
        do {
            try ImageRootfs.release(annotations: record.annotations)
        } catch {
            log.debug("delete \(id): warning: image rootfs: \(error)")
        }
        try store.remove(id: id)
        log.debug("delete \(id): removed")
    }

    /// SIGKILL to every process, then wait until the init is gone.
    private func killEverything(_ record: ContainerRecord) throws {
        if let cgroup = record.cgroup, cgroup.exists {
            try cgroup.killAll()
        }
        guard record.initIsRunning, let process = try? ProcessHandle.open(pid: record.pid) else { return }
        defer { process.close() }
        try? process.signal(SIGKILL)
        guard try process.waitReadable(timeout: .seconds(10)) else {
            throw RuntimeError("cannot delete container \"\(record.id)\": pid \(record.pid) survived SIGKILL for 10 s")
        }
    }
}
