import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// Writes `Resources` into v1 controller files.
struct V1Limits {
    let driver: V1Driver

    /// One knob write; a refusal names the OCI field and keeps the kernel's errno.
    func set(_ value: String, _ file: String, in dir: String, field: String) throws(CgroupError) {
        do { try FileSystem.writeKnob(value, to: dir + "/" + file) } catch {
            throw refusal(CgroupError(error), field: "\(resourcesField).\(field)", value: value, file: file)
        }
    }

    func apply(_ resources: Resources) throws(CgroupError) {
        if let cpu = resources.cpu { try applyCPU(cpu) }
        if let memory = resources.memory, let dir = driver.directory(for: "memory") { try applyMemory(memory, dir) }
        if let pids = resources.pids, let dir = driver.directory(for: "pids") {
            try set(pids.limit > 0 ? "\(pids.limit)" : "max", "pids.max", in: dir, field: "pids.limit")
        }
        if let blockIO = resources.blockIO, let dir = driver.directory(for: "io") { try applyBlockIO(blockIO, dir) }
        if let dir = driver.directory(for: "hugetlb") {
            for (index, limit) in resources.hugepageLimits.enumerated() {
                try set("\(limit.limit)", "hugetlb.\(limit.pageSize).limit_in_bytes", in: dir, field: "hugepageLimits[\(index)].limit")
            }
        }
        if let rules = resources.devices, let dir = driver.directory(for: "devices") { try applyDevices(rules, dir) }
    }

    /// A cgroup that already denies by default (a running container being updated) gets only the
    /// difference, so a device allowed before and after is never refused in between. Otherwise
    /// (a new cgroup inherits "a *:* rwm") the list is written from "deny everything" on.
    private func applyDevices(_ rules: [Resources.DeviceRule], _ dir: String) throws(CgroupError) {
        // The current list first: on a new cgroup it allows everything, and working out the
        // target (hashed collections, each a first use for the Swift runtime) is not needed.
        if let current = CgroupFile.text(dir + "/devices.list").flatMap(DeviceRules.parseV1List),
           let target = DeviceRules.v1Exceptions(rules) {
            try writeDeviceLines(DeviceRules.v1Changes(from: current, to: target).map { ("devices", $0.file, $0.line) }, dir)
            return
        }
        try writeDeviceLines(DeviceRules.v1Writes(rules).map { (($0.index.map { "devices[\($0)]" } ?? "devices"), $0.file, $0.line) }, dir)
    }

    /// Each write(2) to devices.allow or devices.deny is one rule to the kernel, so one open file
    /// per name takes them all (a new container writes about a dozen).
    private func writeDeviceLines(_ writes: [(field: String, file: String, line: String)], _ dir: String) throws(CgroupError) {
        var allow: FileDescriptor?
        var deny: FileDescriptor?
        defer { allow?.close(); deny?.close() }
        for write in writes {
            do throws(SystemError) {
                let isAllow = write.file == "devices.allow"
                let fd: FileDescriptor
                if let open = isAllow ? allow : deny {
                    fd = open
                } else {
                    fd = try FileDescriptor.open(dir + "/" + write.file, O_WRONLY)
                    if isAllow { allow = fd } else { deny = fd }
                }
                try fd.writeAll(Array(write.line.utf8), step: "write \(dir)/\(write.file)")
            } catch {
                throw refusal(CgroupError(error), field: "\(resourcesField).\(write.field)", value: write.line, file: write.file)
            }
        }
    }

    private func applyCPU(_ cpu: Resources.CPU) throws(CgroupError) {
        if let dir = driver.directory(for: "cpu") {
            if let shares = cpu.shares, shares != 0 { try set("\(shares)", "cpu.shares", in: dir, field: "cpu.shares") }
            let period = cpu.period.flatMap { $0 == 0 ? nil : $0 }
            let quota = cpu.quota.flatMap { $0 == 0 ? nil : $0 }
            if let period {
                do {
                    try set("\(period)", "cpu.cfs_period_us", in: dir, field: "cpu.period")
                } catch {
                    // A shorter period can clash with the old quota: set the quota first and retry.
                    guard let quota else { throw error }
                    try set("\(quota)", "cpu.cfs_quota_us", in: dir, field: "cpu.quota")
                    try set("\(period)", "cpu.cfs_period_us", in: dir, field: "cpu.period")
                }
            }
            if let quota { try set("\(quota)", "cpu.cfs_quota_us", in: dir, field: "cpu.quota") }
            if let burst = cpu.burst { try set("\(burst)", "cpu.cfs_burst_us", in: dir, field: "cpu.burst") }
            // Period before runtime: the runtime is checked against the period.
            if let period = cpu.realtimePeriod, period != 0 {
                try set("\(period)", "cpu.rt_period_us", in: dir, field: "cpu.realtimePeriod")
            }
            if let runtime = cpu.realtimeRuntime, runtime != 0 {
                try set("\(runtime)", "cpu.rt_runtime_us", in: dir, field: "cpu.realtimeRuntime")
            }
            if let idle = cpu.idle { try set("\(idle)", "cpu.idle", in: dir, field: "cpu.idle") }
        }
        if let dir = driver.directory(for: "cpuset") {
            if let cpus = cpu.cpus, !cpus.isEmpty { try set(cpus, "cpuset.cpus", in: dir, field: "cpu.cpus") }
            if let mems = cpu.mems, !mems.isEmpty { try set(mems, "cpuset.mems", in: dir, field: "cpu.mems") }
        }
    }

    private func applyMemory(_ memory: Resources.Memory, _ dir: String) throws(CgroupError) {
        let hasSwapFile = FileSystem.exists(dir + "/memory.memsw.limit_in_bytes")
        let limit = memory.limit.flatMap { $0 == 0 ? nil : $0 }
        var swap = memory.swap.flatMap { $0 == 0 ? nil : $0 }
        // Unlimited memory with swap unset means unlimited swap too, or the kernel refuses the
        // limit (memory+swap may not be below memory).
        if limit == -1, swap == nil, hasSwapFile { swap = -1 }
        if let value = swap, !hasSwapFile {
            if value != -1 {
                throw CgroupError(field: "\(resourcesField).memory.swap", "swap accounting is off on this host (no memory.memsw.limit_in_bytes)")
            }
            swap = nil
        }
        func writeLimit() throws(CgroupError) {
            if let limit { try set("\(limit)", "memory.limit_in_bytes", in: dir, field: "memory.limit") }
        }
        func writeSwap() throws(CgroupError) {
            if let swap { try set("\(swap)", "memory.memsw.limit_in_bytes", in: dir, field: "memory.swap") }
        }
        // memory ≤ memory+swap must hold after every single write: raise memsw first, lower it last.
        if let swap {
            let current = CgroupFile.number(dir + "/memory.memsw.limit_in_bytes") ?? UInt64.max
            if swap == -1 || UInt64(swap) > current {
                try writeSwap(); try writeLimit()
            } else {
                try writeLimit(); try writeSwap()
            }
        } else {
            try writeLimit()
        }
        if let reservation = memory.reservation, reservation != 0 {
            try set("\(reservation)", "memory.soft_limit_in_bytes", in: dir, field: "memory.reservation")
        }
        if let tcp = memory.kernelTCP, tcp != 0 {
            try set("\(tcp)", "memory.kmem.tcp.limit_in_bytes", in: dir, field: "memory.kernelTCP")
        }
        if let swappiness = memory.swappiness, swappiness != UInt64.max {
            try set("\(swappiness)", "memory.swappiness", in: dir, field: "memory.swappiness")
        }
        if let disable = memory.disableOOMKiller {
            try set(disable ? "1" : "0", "memory.oom_control", in: dir, field: "memory.disableOOMKiller")
        }
        // memory.kernel: the kernel ignores writes to memory.kmem.limit_in_bytes now; so do we.
    }

    private func applyBlockIO(_ blockIO: Resources.BlockIO, _ dir: String) throws(CgroupError) {
        // CFQ offered blkio.weight; with BFQ the knobs are blkio.bfq.*.
        let prefix = FileSystem.exists(dir + "/blkio.weight") ? "blkio." : "blkio.bfq."
        if let weight = blockIO.weight, weight != 0 {
            guard FileSystem.exists(dir + "/\(prefix)weight") else {
                throw CgroupError(field: "\(resourcesField).blockIO.weight", "no blkio.weight or blkio.bfq.weight here (the block devices' I/O schedulers take no weights)")
            }
            try set("\(weight)", "\(prefix)weight", in: dir, field: "blockIO.weight")
        }
        if let leaf = blockIO.leafWeight, leaf != 0 {
            try set("\(leaf)", "blkio.leaf_weight", in: dir, field: "blockIO.leafWeight")
        }
        for (index, device) in blockIO.weightDevice.enumerated() {
            if let weight = device.weight {
                try set("\(device.major):\(device.minor) \(weight)", "\(prefix)weight_device", in: dir,
                        field: "blockIO.weightDevice[\(index)].weight")
            }
            if let leaf = device.leafWeight {
                try set("\(device.major):\(device.minor) \(leaf)", "blkio.leaf_weight_device", in: dir,
                        field: "blockIO.weightDevice[\(index)].leafWeight")
            }
        }
        let files = ["blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
                     "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"]
        for ((name, list), file) in zip(blockIO.throttles, files) {
            for (index, device) in list.enumerated() {
                try set("\(device.major):\(device.minor) \(device.rate)", file, in: dir, field: "blockIO.\(name)[\(index)]")
            }
        }
    }
}
