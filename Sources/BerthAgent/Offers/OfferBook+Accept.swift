import BerthAPI

extension OfferBook {
    /// Accepts offers of `scheduler` with operations, all or none. Refused with the reason, naming
    /// the field: an offer id not outstanding (unknown, rescinded, declined, already accepted,
    /// another scheduler's), a task id already allocated, or operations needing more than the
    /// offers hold ("needs cpus 2 but 1.5 are offered"; ports: a fixed hostPort outside the
    /// offered ranges). On success the offers are consumed, what the operations left unused
    /// returns to the pool, and each launched task's allocation (with its host ports) is returned.
    public mutating func accept(_ request: AcceptRequest, scheduler: String, now: Double) throws(APIError) -> AcceptResponse {
        try request.validate()
        expire(now: now)
        let entries = try claim(request.offerIds, scheduler: scheduler, field: "offerIds")
        var pool = ResourceSet()
        for entry in entries { pool.add(entry.resources) }

        var placement = Placement(pool: pool, freeGPUs: freeGPUs, word: "offered")
        var reservations = dynamicReservations
        var response = AcceptResponse()
        for (i, operation) in request.operations.enumerated() {
            let field = FieldPath.index("operations", i)
            switch operation.type {
            case .reserve, .unreserve:
                for (j, resource) in operation.resources.enumerated() {
                    let at = FieldPath.index(FieldPath.join(field, "resources"), j)
                    let wanted = try ResourceSet([resource], at: at)
                    if operation.type == .reserve {
                        do { try placement.pool.subtract(wanted.withRole("*")) }
                        catch { throw .conflict(at, error.message("offered unreserved")) }
                        placement.pool.add(wanted)
                        reservations.add(wanted)
                        response.reserved.append(resource)
                    } else {
                        if !reservations.contains(wanted) {
                            throw .conflict(at, "\(wanted) is not a dynamic reservation (static ones are changed in the config)")
                        }
                        do { try placement.pool.subtract(wanted) }
                        catch { throw .conflict(at, error.message("offered")) }
                        placement.pool.add(wanted.withRole("*"))
                        reservations.subtractSaturating(wanted)
                        response.unreserved.append(resource)
                    }
                }
            case .launch, .launchGroup:
                let group = operation.type == .launchGroup ? operation.tasks.first?.id : nil
                for (j, task) in operation.tasks.enumerated() {
                    let at = FieldPath.index(FieldPath.join(field, "tasks"), j)
                    if allocations[task.id] != nil {
                        throw .conflict(FieldPath.join(at, "id"), "task \(quoted(task.id)) already exists")
                    }
                    let allocation = try placement.place(task, field: at, offerIds: request.offerIds, group: group)
                    response.allocations.append(allocation)
                }
            }
        }

        // Everything checked: commit.
        for entry in entries { retire(entry.offer.id, "offer \(entry.offer.id) was already accepted") }
        if reservations != dynamicReservations {
            dynamicReservations = reservations
            total = Self.applying(reservations, to: base).total
        }
        for allocation in response.allocations { record(allocation) }
        addFilter(scheduler: scheduler, resources: placement.pool, seconds: request.refuseSeconds ?? 0, now: now)
        return response
    }

    /// Launches a task without an offer: it draws from the free resources. Resources nobody was
    /// offered are used first; when they do not suffice, outstanding offers are rescinded (newest
    /// first) until the task fits. Refused with the shortage otherwise.
    public mutating func allocateDirect(_ task: TaskDefinition, now: Double) throws(APIError) -> TaskAllocation {
        try allocateDirect(group: [task], isGroup: false, now: now)[0]
    }

    /// Several tasks at once, all or none; with `isGroup` they form a group (shared network
    /// namespace) named after the first task.
    public mutating func allocateDirect(group tasks: [TaskDefinition], isGroup: Bool, now: Double) throws(APIError) -> [TaskAllocation] {
        if tasks.isEmpty { throw .badRequest("tasks", "must not be empty") }
        var ids: Set<String> = []
        for (i, task) in tasks.enumerated() {
            let field = tasks.count == 1 ? "" : FieldPath.index("tasks", i)
            try task.validate(at: field)
            if allocations[task.id] != nil || !ids.insert(task.id).inserted {
                throw .conflict(FieldPath.join(field, "id"), "task \(quoted(task.id)) already exists")
            }
            if isGroup && (task.network.mode != tasks[0].network.mode || task.network.name != tasks[0].network.name) {
                throw .badRequest(FieldPath.join(field, "network"), "tasks of a group share one network; it must equal the first task's")
            }
        }
        expire(now: now)
        let group = isGroup ? tasks[0].id : nil

        func placeAll(from pool: ResourceSet) throws(APIError) -> [TaskAllocation] {
            var placement = Placement(pool: pool, freeGPUs: freeGPUs, word: "free")
            var result: [TaskAllocation] = []
            for (i, task) in tasks.enumerated() {
                let field = tasks.count == 1 ? "" : FieldPath.index("tasks", i)
                result.append(try placement.place(task, field: field, offerIds: [], group: group))
            }
            return result
        }

        var pool = available
        var toRescind: [String] = []
        let newestFirst = outstanding.values.sorted { $0.number > $1.number }
        var index = 0
        while true {
            switch Result(catching: { () throws(APIError) in try placeAll(from: pool) }) {
            case .success(let allocations):
                let names = tasks.map(\.id).joined(separator: ", ")
                for id in toRescind {
                    rescind(offerId: id, reason: "its resources went to task \(names), launched without an offer")
                }
                for allocation in allocations { record(allocation) }
                return allocations
            case .failure(let error):
                // With every offer rescinded this is a shortage of the free resources themselves.
                guard index < newestFirst.count else { throw error }
                pool.add(newestFirst[index].resources)
                toRescind.append(newestFirst[index].offer.id)
                index += 1
            }
        }
    }

    mutating func record(_ allocation: TaskAllocation) {
        // Built by Placement from valid sets: conversion cannot fail.
        let set = (try? ResourceSet(allocation.resources, at: "resources")) ?? ResourceSet()
        allocations[allocation.taskId] = allocation
        allocatedSets[allocation.taskId] = set
        allocated.add(set)
    }
}
