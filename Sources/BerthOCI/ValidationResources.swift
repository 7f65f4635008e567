
/// Checks on `linux.resources` that need no kernel: ranges the cgroup files would reject
/// anyway, caught early with the field's JSON path. What the host's cgroup mode can apply
/// is the cgroup driver's decision.
extension Validator {
    func resources(_ r: Spec.Resources, at base: String) throws(OCIError) {
        let path = { (key: String) in JSONPath.join(base, key) }
        for (i, rule) in (r.devices ?? []).enumerated() {
            let at = JSONPath.index(path("devices"), i)
            if let t = rule.type, !t.isEmpty, !["a", "c", "b"].contains(t) {
                throw fail(JSONPath.join(at, "type"), "unknown device type \(quoted(t)) (expected a, c or b)")
            }
            if let access = rule.access, !access.allSatisfy({ "rwm".contains($0) }) {
                throw fail(JSONPath.join(at, "access"), "only r, w and m are allowed, got \(quoted(access))")
            }
            for (name, v) in [("major", rule.major), ("minor", rule.minor)] {
                if let v, v < -1 { throw fail(JSONPath.join(at, name), "must be -1 (any) or a device number, got \(v)") }
            }
        }
        if let m = r.memory { try memory(m, at: path("memory")) }
        if let c = r.cpu { try cpu(c, at: path("cpu")) }
        if let p = r.pids, p.limit < -1 {
            throw fail(JSONPath.join(path("pids"), "limit"), "must be -1 (unlimited) or a task count, got \(p.limit)")
        }
        if let b = r.blockIO { try blockIO(b, at: path("blockIO")) }
        for (i, h) in (r.hugepageLimits ?? []).enumerated() where !Self.isPageSize(h.pageSize) {
            throw fail(JSONPath.join(JSONPath.index(path("hugepageLimits"), i), "pageSize"),
                       "expected a size such as \"2MB\" or \"1GB\", got \(quoted(h.pageSize))")
        }
        for (i, p) in (r.network?.priorities ?? []).enumerated() where p.name.isEmpty {
            throw fail(JSONPath.join(JSONPath.index(JSONPath.join(path("network"), "priorities"), i), "name"), "must not be empty")
        }
        for key in (r.rdma ?? [:]).keys where key.isEmpty {
            throw fail(path("rdma"), "device names must not be empty")
        }
        for key in (r.unified ?? [:]).keys.sorted() {
            let at = JSONPath.join(path("unified"), key)
            guard key.contains("."), !key.hasPrefix("."), !key.contains("/") else {
                throw fail(at, "not a cgroup v2 interface file name")
            }
            // Membership files would let a config move arbitrary processes into the container.
            if ["cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "cgroup.kill", "cgroup.freeze"].contains(key) {
                throw fail(at, "cannot be set through linux.resources.unified")
            }
        }
    }

    func memory(_ m: Spec.Resources.Memory, at base: String) throws(OCIError) {
        let path = { (key: String) in JSONPath.join(base, key) }
        for (name, v) in [("limit", m.limit), ("reservation", m.reservation), ("swap", m.swap)] {
            if let v, v < -1 {
                throw fail(path(name), "must be -1 (unlimited) or a byte count, got \(v)")
            }
        }
        if let limit = m.limit, let swap = m.swap, limit > 0, swap > 0, swap < limit {
            throw fail(path("swap"), "must be at least memory.limit (\(limit)): it limits memory+swap, got \(swap)")
        }
        // Kernel memory limits were removed from Linux (5.16 deprecated, 6.x gone).
        if m.kernel != nil { throw unsupported(path("kernel")) }
        if let k = m.kernelTCP, k < -1 {
            throw fail(path("kernelTCP"), "must be -1 (unlimited) or a byte count, got \(k)")
        }
        if let s = m.swappiness, s > 100 {
            throw fail(path("swappiness"), "must be between 0 and 100, got \(s)")
        }
    }

    func cpu(_ c: Spec.Resources.CPU, at base: String) throws(OCIError) {
        let path = { (key: String) in JSONPath.join(base, key) }
        // Zero means "not set" for shares, quota and period, as in runc.
        if let s = c.shares, s != 0, !(2...262_144).contains(s) {
            throw fail(path("shares"), "must be between 2 and 262144, got \(s)")
        }
        if let q = c.quota, q != 0, q != -1, q < 1000 {
            throw fail(path("quota"), "must be -1 (unlimited) or at least 1000 µs, got \(q)")
        }
        if let p = c.period, p != 0, !(1000...1_000_000).contains(p) {
            throw fail(path("period"), "must be between 1000 and 1000000 µs, got \(p)")
        }
        if let b = c.burst, b != 0 {
            guard let q = c.quota, q > 0 else { throw fail(path("burst"), "requires cpu.quota") }
            if b > UInt64(q) { throw fail(path("burst"), "must not exceed cpu.quota (\(q)), got \(b)") }
        }
        if let rt = c.realtimeRuntime, rt < -1 {
            throw fail(path("realtimeRuntime"), "must be -1 or a time in µs, got \(rt)")
        }
        if let rt = c.realtimeRuntime, let rp = c.realtimePeriod, rt > 0, rp > 0, UInt64(rt) > rp {
            throw fail(path("realtimeRuntime"), "must not exceed cpu.realtimePeriod (\(rp)), got \(rt)")
        }
        if let idle = c.idle, idle != 0 && idle != 1 {
            throw fail(path("idle"), "must be 0 or 1, got \(idle)")
        }
        for (name, list) in [("cpus", c.cpus), ("mems", c.mems)] {
            if let list, !list.isEmpty, !Self.isCPUList(list) {
                throw fail(path(name), "expected a list such as \"0-3,6\", got \(quoted(list))")
            }
        }
    }

    func blockIO(_ b: Spec.Resources.BlockIO, at base: String) throws(OCIError) {
        let path = { (key: String) in JSONPath.join(base, key) }
        func weight(_ v: UInt16?, _ at: String) throws(OCIError) {
            if let v, !(10...1000).contains(v) { throw fail(at, "must be between 10 and 1000, got \(v)") }
        }
        try weight(b.weight, path("weight"))
        try weight(b.leafWeight, path("leafWeight"))
        for (i, d) in (b.weightDevice ?? []).enumerated() {
            let at = JSONPath.index(path("weightDevice"), i)
            try deviceNumbers(d.major, d.minor, at: at)
            try weight(d.weight, JSONPath.join(at, "weight"))
            try weight(d.leafWeight, JSONPath.join(at, "leafWeight"))
        }
        for (name, list) in b.throttles {
            for (i, d) in list.enumerated() {
                try deviceNumbers(d.major, d.minor, at: JSONPath.index(path(name), i))
            }
        }
    }

    func deviceNumbers(_ major: Int64, _ minor: Int64, at base: String) throws(OCIError) {
        if major < 0 { throw fail(JSONPath.join(base, "major"), "must not be negative, got \(major)") }
        if minor < 0 { throw fail(JSONPath.join(base, "minor"), "must not be negative, got \(minor)") }
    }

    /// cpuset syntax: comma-separated N or N-M with N <= M.
    static func isCPUList(_ s: String) -> Bool {
        for part in s.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count) else { return false }
            let numbers = bounds.compactMap { b -> Int? in
                ASCII.isDigits(b) ? Int(b) : nil
            }
            guard numbers.count == bounds.count else { return false }
            if numbers.count == 2 && numbers[0] > numbers[1] { return false }
        }
        return true
    }

    /// Hugepage sizes as the cgroup files name them: digits then KB, MB or GB.
    static func isPageSize(_ s: String) -> Bool {
        guard let unit = ["KB", "MB", "GB"].first(where: { s.hasSuffix($0) }) else { return false }
        let digits = s.dropLast(unit.count)
        return ASCII.isDigits(digits)
    }
}
