import BerthCgroups
import BerthOCI

extension BerthCgroups.Resources {
    /// What every container may use whatever its rules say (last match wins, so these come after
    /// the config's): mknod of anything, and the default /dev nodes and ptys.
    static let defaultDeviceRules: [DeviceRule] = [
        DeviceRule(allow: true, type: "c", access: "m"), DeviceRule(allow: true, type: "b", access: "m"),
        DeviceRule(allow: true, type: "c", major: 1, minor: 3, access: "rwm"),   // null
        DeviceRule(allow: true, type: "c", major: 1, minor: 5, access: "rwm"),   // zero
        DeviceRule(allow: true, type: "c", major: 1, minor: 7, access: "rwm"),   // full
        DeviceRule(allow: true, type: "c", major: 1, minor: 8, access: "rwm"),   // random
        DeviceRule(allow: true, type: "c", major: 1, minor: 9, access: "rwm"),   // urandom
        DeviceRule(allow: true, type: "c", major: 5, minor: 0, access: "rwm"),   // tty
        DeviceRule(allow: true, type: "c", major: 5, minor: 2, access: "rwm"),   // ptmx
        DeviceRule(allow: true, type: "c", major: 136, access: "rwm"),           // pts/*
    ]

    /// OCI linux.resources onto the cgroup driver's limits. Fields the driver has no home for
    /// are refused here, naming the field, never dropped.
    init(oci resources: Spec.Resources?, devices: [Spec.Device] = []) throws {
        self.init()
        guard let resources else { return }
        if resources.network != nil {
            throw RuntimeError("config.json: linux.resources.network: not supported by berth (net_cls/net_prio)")
        }
        if let rdma = resources.rdma, !rdma.isEmpty {
            throw RuntimeError("config.json: linux.resources.rdma: not supported by berth")
        }
        if let cpu = resources.cpu {
            self.cpu = CPU(shares: cpu.shares, quota: cpu.quota, burst: cpu.burst, period: cpu.period,
                           realtimeRuntime: cpu.realtimeRuntime, realtimePeriod: cpu.realtimePeriod,
                           cpus: cpu.cpus, mems: cpu.mems, idle: cpu.idle)
        }
        if let memory = resources.memory {
            self.memory = Memory(limit: memory.limit, reservation: memory.reservation, swap: memory.swap,
                                 swappiness: memory.swappiness, disableOOMKiller: memory.disableOOMKiller,
                                 kernel: memory.kernel, kernelTCP: memory.kernelTCP)
        }
        if let pids = resources.pids { self.pids = Pids(limit: pids.limit) }
        if let io = resources.blockIO {
            func throttles(_ list: [Spec.Resources.ThrottleDevice]?) -> [ThrottleDevice] {
                (list ?? []).map { ThrottleDevice(major: $0.major, minor: $0.minor, rate: $0.rate) }
            }
            self.blockIO = BlockIO(
                weight: io.weight, leafWeight: io.leafWeight,
                weightDevice: (io.weightDevice ?? []).map { WeightDevice(major: $0.major, minor: $0.minor, weight: $0.weight, leafWeight: $0.leafWeight) },
                throttleReadBpsDevice: throttles(io.throttleReadBpsDevice),
                throttleWriteBpsDevice: throttles(io.throttleWriteBpsDevice),
                throttleReadIOPSDevice: throttles(io.throttleReadIOPSDevice),
                throttleWriteIOPSDevice: throttles(io.throttleWriteIOPSDevice))
        }
        self.hugepageLimits = (resources.hugepageLimits ?? []).map { HugepageLimit(pageSize: $0.pageSize, limit: $0.limit) }
        self.devices = resources.devices.map { rules in
            rules.map { DeviceRule(allow: $0.allow, type: $0.type, major: $0.major, minor: $0.minor, access: $0.access) }
                + Self.defaultDeviceRules
                + devices.map { DeviceRule(allow: true, type: $0.type == "u" ? "c" : $0.type, major: $0.major, minor: $0.minor, access: "rwm") }
        }
        self.unified = resources.unified ?? [:]
    }
}
