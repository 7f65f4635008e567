import BerthLinux

/// Writes `Resources` into v2 files, converting v1-style values the way runc users expect.
struct V2Limits {
    let driver: V2Driver
    var dir: String { driver.path }

    func set(_ value: String, _ file: String, field: String) throws(CgroupError) {
        do { try FileSystem.writeKnob(value, to: dir + "/" + file) } catch {
            throw refusal(CgroupError(error), field: "\(resourcesField).\(field)", value: value, file: file)
        }
    }

    /// cpu.shares (2...262144, default 1024) onto cpu.weight (1...10000, default 100).
    static func weight(shares: UInt64) -> UInt64 {
        guard shares > 2 else { return 1 }
        return 1 + ((shares - 2) * 9999) / 262_142
    }

    /// blkio.weight (10...1000, default 500) onto io.weight (1...10000, default 100).
    static func ioWeight(blkio weight: UInt64) -> UInt64 {
        guard weight > 10 else { return 1 }
        return 1 + ((weight - 10) * 9999) / 990
    }

    func apply(_ resources: Resources) throws(CgroupError) {
        if let cpu = resources.cpu { try applyCPU(cpu) }
        if let memory = resources.memory, driver.drives("memory") { try applyMemory(memory) }
        if let pids = resources.pids, driver.drives("pids") {
            try set(pids.limit > 0 ? "\(pids.limit)" : "max", "pids.max", field: "pids.limit")
        }
        if let blockIO = resources.blockIO, driver.drives("io") { try applyIO(blockIO) }
        if driver.drives("hugetlb") {
            for (index, limit) in resources.hugepageLimits.enumerated() {
                try set("\(limit.limit)", "hugetlb.\(limit.pageSize).max", field: "hugepageLimits[\(index)].limit")
            }
        }
        // v2 has no devices controller: a BPF program on the cgroup decides. (On a hybrid host
        // with a v1 devices controller, Cgroup leaves devices to that one.)
        if let rules = resources.devices { try DeviceRules.attachBPF(rules, to: dir) }
        for key in resources.unified.keys.sorted() {
            let value = resources.unified[key]!
            guard FileSystem.exists(dir + "/" + key) else {
                throw CgroupError(field: "\(resourcesField).unified", "unknown key \"\(key)\"")
            }
            try set(value, key, field: "unified[\"\(key)\"]")
        }
    }

    private func applyCPU(_ cpu: Resources.CPU) throws(CgroupError) {
        if driver.drives("cpu") {
            if let shares = cpu.shares, shares != 0 {
                try set("\(Self.weight(shares: shares))", "cpu.weight", field: "cpu.shares")
            }
            let quota = cpu.quota.flatMap { $0 == 0 ? nil : $0 }
            let period = cpu.period.flatMap { $0 == 0 ? nil : $0 }
            if quota != nil || period != nil {
                // cpu.max holds both: keep whichever half is not being changed.
                let current = (CgroupFile.text(dir + "/cpu.max") ?? "max 100000").split(separator: " ")
                let quotaText = quota.map { $0 < 0 ? "max" : "\($0)" } ?? String(current.first ?? "max")
                let periodText = period.map { "\($0)" } ?? String(current.count > 1 ? current[1] : "100000")
                try set("\(quotaText) \(periodText)", "cpu.max", field: quota != nil ? "cpu.quota" : "cpu.period")
            }
            if let burst = cpu.burst { try set("\(burst)", "cpu.max.burst", field: "cpu.burst") }
            if let idle = cpu.idle { try set("\(idle)", "cpu.idle", field: "cpu.idle") }
        }
        if driver.drives("cpuset") {
            if let cpus = cpu.cpus, !cpus.isEmpty { try set(cpus, "cpuset.cpus", field: "cpu.cpus") }
            if let mems = cpu.mems, !mems.isEmpty { try set(mems, "cpuset.mems", field: "cpu.mems") }
        }
    }

    private func applyMemory(_ memory: Resources.Memory) throws(CgroupError) {
        let limit = memory.limit.flatMap { $0 == 0 ? nil : $0 }
        if let limit { try set(limit < 0 ? "max" : "\(limit)", "memory.max", field: "memory.limit") }
        // OCI's swap is memory+swap; v2's memory.swap.max is swap alone.
        if let swap = memory.swap, swap != 0 {
            let value: String
            if swap < 0 {
                value = "max"
            } else {
                guard let limit, limit > 0 else {
                    throw CgroupError(field: "\(resourcesField).memory.swap", "cgroup v2 needs linux.resources.memory.limit to place a swap limit")
                }
                value = "\(swap - limit)"
            }
            guard FileSystem.exists(dir + "/memory.swap.max") else {
                if swap < 0 { return }
                throw CgroupError(field: "\(resourcesField).memory.swap", "swap accounting is off on this host (no memory.swap.max)")
            }
            try set(value, "memory.swap.max", field: "memory.swap")
        }
        if let reservation = memory.reservation, reservation != 0 {
            try set(reservation < 0 ? "max" : "\(reservation)", "memory.low", field: "memory.reservation")
        }
    }

    private func applyIO(_ blockIO: Resources.BlockIO) throws(CgroupError) {
        // BFQ takes blkio-style weights as they are; io.weight needs the 1...10000 scale.
        let bfq = FileSystem.exists(dir + "/io.bfq.weight")
        let file = bfq ? "io.bfq.weight" : "io.weight"
        func convert(_ weight: UInt16) -> UInt64 { bfq ? UInt64(weight) : Self.ioWeight(blkio: UInt64(weight)) }
        if let weight = blockIO.weight, weight != 0 {
            try set("\(convert(weight))", file, field: "blockIO.weight")
        }
        for (index, device) in blockIO.weightDevice.enumerated() {
            guard let weight = device.weight else { continue }
            try set("\(device.major):\(device.minor) \(convert(weight))", file, field: "blockIO.weightDevice[\(index)].weight")
        }
        for ((name, list), key) in zip(blockIO.throttles, ["rbps", "wbps", "riops", "wiops"]) {
            for (index, device) in list.enumerated() {
                let rate = device.rate == 0 ? "max" : "\(device.rate)"
                try set("\(device.major):\(device.minor) \(key)=\(rate)", "io.max", field: "blockIO.\(name)[\(index)]")
            }
        }
    }
}
