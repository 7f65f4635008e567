import BerthCgroups
import BerthLinux
import BerthOCI

extension Runtime {
    /// Changes a live container's limits (`berth update`): `change` is merged over the resources
    /// the container has now (set fields replace, absent ones stay), applied to its cgroup, and
    /// saved in its record so `state` and later updates see them.
    public func update(id: String, with change: Spec.Resources) throws {
        try StateStore.validate(id: id)
        try withLockedContainer(id) { record, _ in
            let status = status(of: record)
            guard status == .created || status == .running || status == .paused, let cgroup = record.cgroup else {
                throw RuntimeError("update: cannot update container \"\(id)\": it is \(status.rawValue)")
            }
            var spec = try record.spec()
            let current = spec.linux?.resources ?? Spec.Resources()
            let merged = Self.merge(change, over: current)
            // Device rules are rewritten only when the update names them.
            var applied = merged
            applied.devices = change.devices
            let limits: BerthCgroups.Resources
            do {
                limits = try BerthCgroups.Resources(oci: applied, devices: spec.linux?.devices ?? [])
            } catch let error as RuntimeError {
                let prefix = "config.json: "
                throw RuntimeError("update: " + (error.message.hasPrefix(prefix) ? String(error.message.dropFirst(prefix.count)) : error.message))
            }
            if case .failure(let error) = Result(catching: { () throws(CgroupError) in try cgroup.cgroup.update(limits) }) {
                throw RuntimeError("update: \(error)")
            }
            if spec.linux == nil { spec.linux = Spec.Linux() }
            spec.linux?.resources = merged
            record.specDocument = Deferred(spec)
            try store.save(record)
        }
    }

    /// Field by field: what `change` sets wins.
    static func merge(_ change: Spec.Resources, over base: Spec.Resources) -> Spec.Resources {
        var result = base
        if let memory = change.memory {
            var m = base.memory ?? Spec.Resources.Memory()
            if let v = memory.limit { m.limit = v }
            if let v = memory.reservation { m.reservation = v }
            if let v = memory.swap { m.swap = v }
            if let v = memory.kernel { m.kernel = v }
            if let v = memory.kernelTCP { m.kernelTCP = v }
            if let v = memory.swappiness { m.swappiness = v }
            if let v = memory.disableOOMKiller { m.disableOOMKiller = v }
            if let v = memory.useHierarchy { m.useHierarchy = v }
            if let v = memory.checkBeforeUpdate { m.checkBeforeUpdate = v }
            result.memory = m
        }
        if let cpu = change.cpu {
            var c = base.cpu ?? Spec.Resources.CPU()
            if let v = cpu.shares { c.shares = v }
            if let v = cpu.quota { c.quota = v }
            if let v = cpu.burst { c.burst = v }
            if let v = cpu.period { c.period = v }
            if let v = cpu.realtimeRuntime { c.realtimeRuntime = v }
            if let v = cpu.realtimePeriod { c.realtimePeriod = v }
            if let v = cpu.cpus { c.cpus = v }
            if let v = cpu.mems { c.mems = v }
            if let v = cpu.idle { c.idle = v }
            result.cpu = c
        }
        if let pids = change.pids { result.pids = pids }
        if let io = change.blockIO {
            var b = base.blockIO ?? Spec.Resources.BlockIO()
            if let v = io.weight { b.weight = v }
            if let v = io.leafWeight { b.leafWeight = v }
            if let v = io.weightDevice { b.weightDevice = v }
            if let v = io.throttleReadBpsDevice { b.throttleReadBpsDevice = v }
            if let v = io.throttleWriteBpsDevice { b.throttleWriteBpsDevice = v }
            if let v = io.throttleReadIOPSDevice { b.throttleReadIOPSDevice = v }
            if let v = io.throttleWriteIOPSDevice { b.throttleWriteIOPSDevice = v }
            result.blockIO = b
        }
        if let v = change.hugepageLimits { result.hugepageLimits = v }
        if let v = change.devices { result.devices = v }
        if let v = change.network { result.network = v }
        if let v = change.rdma { result.rdma = v }
        if let unified = change.unified { result.unified = (base.unified ?? [:]).merging(unified) { $1 } }
        return result
    }
}
