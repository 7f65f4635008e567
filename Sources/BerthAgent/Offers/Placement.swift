import BerthAPI

/// Picks the exact resources of tasks from a pool (the offers being accepted, or the free
/// resources for a launch without an offer). A task of role R takes R's reserved resources
/// first, then unreserved ones. Fixed host ports are taken before picked ones, so a picked
/// port never steals a port another mapping names.
struct Placement {
    /// What is left to place from.
    var pool: ResourceSet
    /// GPU indices nobody holds yet, ascending.
    var freeGPUs: [Int]
    /// How the pool is called in messages: "offered" or "free".
    let word: String

    /// The allocation for `task`, taken out of the pool. `field` is the task's path in the request.
    mutating func place(_ task: TaskDefinition, field: String, offerIds: [String], group: String?) throws(APIError) -> TaskAllocation {
        let f = { (key: String) in FieldPath.join(field, key) }
        let resourcesField = f("resources")
        let roles = task.role == "*" ? ["*"] : [task.role, "*"]
        var taken = ResourceSet()

        let scalars: [(String, Int64)] = [
            (ResourceName.cpus, Fixed.milli(task.resources.cpus)),
            (ResourceName.mem, Fixed.milli(task.resources.mem)),
            (ResourceName.disk, Fixed.milli(task.resources.disk)),
            (ResourceName.gpus, Int64(task.resources.gpus) * 1000),
        ]
        for (name, milli) in scalars where milli > 0 {
            taken.add(try takeScalar(name, milli, roles: roles, field: FieldPath.join(resourcesField, name)))
        }

        var gpus: [Int] = []
        if task.resources.gpus > 0 {
            guard freeGPUs.count >= task.resources.gpus else {
                throw .conflict(FieldPath.join(resourcesField, "gpus"),
                                "needs gpus \(task.resources.gpus) but \(freeGPUs.count) GPU devices are \(word)")
            }
            gpus = Array(freeGPUs.prefix(task.resources.gpus))
            freeGPUs.removeFirst(task.resources.gpus)
        }

        // Host ports: one per mapping (fixed or picked), then the extra ones.
        var hostPorts = [Int](repeating: 0, count: task.network.portMappings.count)
        var takenPorts: [String: RangeList] = [:]
        for (i, mapping) in task.network.portMappings.enumerated() where mapping.hostPort != 0 {
            hostPorts[i] = mapping.hostPort
            // tcp and udp mappings of one port number share the port.
            if takenPorts.values.contains(where: { $0.contains(mapping.hostPort) }) { continue }
            guard let role = roles.first(where: { pool.ranges(ResourceName.ports, role: $0).contains(mapping.hostPort) }) else {
                let at = FieldPath.join(FieldPath.index(FieldPath.join(f("network"), "portMappings"), i), "hostPort")
                throw .conflict(at, "port \(mapping.hostPort) is not among the \(word) ports \(describePorts(roles))")
            }
            take(port: mapping.hostPort, role: role, into: &takenPorts)
        }
        let picked = task.network.portMappings.indices.filter { task.network.portMappings[$0].hostPort == 0 }
        let wanted = picked.count + task.resources.ports
        if wanted > 0 {
            var chosen: [Int] = []
            for role in roles where chosen.count < wanted {
                let list = pool.ranges(ResourceName.ports, role: role)
                let values = list.lowest(min(wanted - chosen.count, list.count)) ?? []
                for port in values { take(port: port, role: role, into: &takenPorts) }
                chosen += values
            }
            if chosen.count < wanted {
                let at = task.resources.ports > 0 ? FieldPath.join(resourcesField, "ports") : FieldPath.join(f("network"), "portMappings")
                throw .conflict(at, "needs \(wanted) port\(wanted == 1 ? "" : "s") but \(chosen.count) \(chosen.count == 1 ? "is" : "are") \(word)")
            }
            for (n, i) in picked.enumerated() { hostPorts[i] = chosen[n] }
            hostPorts += chosen.dropFirst(picked.count)
        }
        for (role, list) in takenPorts { taken.add(.ranges(ResourceName.ports, list, role: role)) }

        return TaskAllocation(taskId: task.id, role: task.role, resources: taken.resources, hostPorts: hostPorts,
                              gpus: gpus, offerIds: offerIds, group: group)
    }

    private mutating func takeScalar(_ name: String, _ milli: Int64, roles: [String], field: String) throws(APIError) -> ResourceSet {
        let have = roles.reduce(Int64(0)) { Fixed.add($0, pool.milli(name, role: $1)) }
        if have < milli {
            let verb = Fixed.format(have) == "1" ? "is" : "are"
            throw .conflict(field, "needs \(name) \(Fixed.format(milli)) but \(Fixed.format(have)) \(verb) \(word)")
        }
        var remaining = milli
        var taken = ResourceSet()
        for role in roles where remaining > 0 {
            let part = min(pool.milli(name, role: role), remaining)
            if part > 0 {
                taken.add(.init(name: name, role: role, type: .scalar), .scalar(part))
                remaining -= part
            }
        }
        pool.subtractSaturating(taken)
        return taken
    }

    private mutating func take(port: Int, role: String, into taken: inout [String: RangeList]) {
        let one = RangeList([port...port])
        pool.subtractSaturating(.ranges(ResourceName.ports, one, role: role))
        taken[role, default: RangeList()].formUnion(one)
    }

    /// The ports a task of these roles could use, shortened for a one-line message.
    private func describePorts(_ roles: [String]) -> String {
        var list = RangeList()
        for role in roles { list.formUnion(pool.ranges(ResourceName.ports, role: role)) }
        if list.intervals.count <= 8 { return list.description }
        let head = list.intervals.prefix(8).map { "\($0.lowerBound)-\($0.upperBound)" }
        return "[" + head.joined(separator: ", ") + ", ...]"
    }
}
