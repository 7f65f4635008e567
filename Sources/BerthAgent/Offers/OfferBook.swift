import BerthAPI

/// The agent's ledger of resources: the total (with reservations by role), what each task holds,
/// and the offers outstanding. A value type: berthd keeps one inside an actor and checkpoints
/// `checkpoint` after each change. Times are seconds (any monotonic or wall clock, used consistently).
///
/// Invariants: allocations and outstanding offers never hold the same resource twice, and an
/// outstanding offer's resources never change (when they would, the offer is rescinded and its
/// id remembered, so a late accept is told "offer X was rescinded: why").
public struct OfferBook: Sendable {
    public let agentId: String
    public var hostname: String
    public var attributes: [String: String]
    /// Offer ids are `<prefix>-O<n>`; give each berthd start its own prefix so ids never repeat.
    public let offerIdPrefix: String
    /// An offer not answered within this many seconds is rescinded.
    public var offerTimeoutSeconds: Double

    /// The machine's resources before dynamic reservations (static reservations included).
    public internal(set) var base: ResourceSet
    /// Resources moved to roles by RESERVE operations.
    public internal(set) var dynamicReservations = ResourceSet()
    /// Everything: `base` with the dynamic reservations applied.
    public internal(set) var total: ResourceSet
    /// Sum of all tasks' allocations.
    public internal(set) var allocated = ResourceSet()
    public internal(set) var allocations: [String: TaskAllocation] = [:]
    /// GPU indices of the machine.
    public internal(set) var gpuIndices: [Int]

    var allocatedSets: [String: ResourceSet] = [:]
    var outstanding: [String: Outstanding] = [:]
    var retired: [String: String] = [:]
    var retiredOrder: [String] = []
    var filters: [DeclineFilter] = []
    var nextOfferNumber: UInt64 = 1

    struct Outstanding: Sendable {
        var offer: Offer
        var resources: ResourceSet
        var scheduler: String
        var role: String
        var createdAt: Double
        var number: UInt64
    }

    /// Resources a scheduler declined (or left unused in an accept): not offered to it again before `until`.
    struct DeclineFilter: Sendable {
        var scheduler: String
        var resources: ResourceSet
        var until: Double
    }

    static let maxRetired = 10_000
    static let maxFiltersPerScheduler = 1_000
    public static let defaultOfferTimeoutSeconds: Double = 60

    public init(agentId: String, hostname: String, attributes: [String: String] = [:], total: ResourceSet,
                gpuIndices: [Int] = [], offerIdPrefix: String, offerTimeoutSeconds: Double = OfferBook.defaultOfferTimeoutSeconds) {
        self.agentId = agentId
        self.hostname = hostname
        self.attributes = attributes
        self.offerIdPrefix = offerIdPrefix
        self.offerTimeoutSeconds = offerTimeoutSeconds
        self.base = total
        self.total = total
        self.gpuIndices = gpuIndices.sorted()
    }

    // MARK: views

    /// Not held by any task (outstanding offers included).
    public var free: ResourceSet { total - allocated }

    /// Neither held by a task nor in an outstanding offer: what a new offer or a direct launch gets.
    public var available: ResourceSet {
        var result = free
        for entry in outstanding.values { result.subtractSaturating(entry.resources) }
        return result
    }

    /// The outstanding offers, oldest first.
    public var outstandingOffers: [Offer] {
        outstanding.values.sorted { $0.number < $1.number }.map(\.offer)
    }

    /// Why `offerId` can no longer be used ("offer X was rescinded: ..."), nil when outstanding or never seen.
    public func retiredReason(_ offerId: String) -> String? { retired[offerId] }

    /// GPU indices no task holds, ascending.
    public var freeGPUs: [Int] {
        let used = Set(allocations.values.flatMap(\.gpus))
        return gpuIndices.filter { !used.contains($0) }
    }

    // MARK: offers

    /// The offers for `scheduler` (any stable name for the caller) of `role`: its outstanding ones,
    /// plus at most one new offer holding what is available to the role (unreserved plus reserved
    /// for it) minus what the scheduler declined recently. No new offer is made when it could not
    /// fit the smallest task (cpus 0.001 and mem 4).
    public mutating func offers(for scheduler: String, role: String = "*", now: Double) -> [Offer] {
        expire(now: now)
        var result = outstanding.values.filter { $0.scheduler == scheduler && $0.role == role }
            .sorted { $0.number < $1.number }.map(\.offer)
        var candidate = available.usable(by: role)
        for filter in filters where filter.scheduler == scheduler {
            candidate.subtractSaturating(filter.resources)
        }
        if candidate.milli(ResourceName.cpus) >= Fixed.milli(TaskLimits.minCPUs),
           candidate.milli(ResourceName.mem) >= Fixed.milli(TaskLimits.minMemMiB) {
            let number = nextOfferNumber
            nextOfferNumber += 1
            let offer = Offer(id: "\(offerIdPrefix)-O\(number)", agentId: agentId, hostname: hostname,
                              resources: candidate.resources, attributes: attributes)
            outstanding[offer.id] = Outstanding(offer: offer, resources: candidate, scheduler: scheduler, role: role,
                                                createdAt: now, number: number)
            result.append(offer)
        }
        return result
    }

    /// Declines offers: their resources return to the pool, and are not offered to `scheduler`
    /// again for `refuseSeconds`. All ids must be outstanding offers of this scheduler.
    public mutating func decline(_ request: DeclineRequest, scheduler: String, now: Double) throws(APIError) {
        try request.validate()
        expire(now: now)
        let entries = try claim(request.offerIds, scheduler: scheduler, field: "offerIds")
        var declined = ResourceSet()
        for entry in entries {
            declined.add(entry.resources)
            retire(entry.offer.id, "offer \(entry.offer.id) was declined")
        }
        addFilter(scheduler: scheduler, resources: declined, seconds: request.refuseSeconds, now: now)
    }

    /// Rescinds one outstanding offer; a later accept or decline is told `reason`.
    /// Returns false when it was not outstanding.
    @discardableResult
    public mutating func rescind(offerId: String, reason: String) -> Bool {
        guard outstanding[offerId] != nil else { return false }
        retire(offerId, "offer \(offerId) was rescinded: \(reason)")
        return true
    }

    /// Rescinds every outstanding offer (the agent's resources changed, or it is stopping).
    /// Returns the rescinded ids.
    @discardableResult
    public mutating func rescindAll(reason: String) -> [String] {
        let ids = outstandingOffers.map(\.id)
        for id in ids { rescind(offerId: id, reason: reason) }
        return ids
    }

    /// Rescinds offers older than the timeout and forgets expired decline filters.
    /// Every entry point calls it; call it from a timer to rescind offers nobody asks about.
    /// Returns the rescinded ids.
    @discardableResult
    public mutating func expire(now: Double) -> [String] {
        filters.removeAll { $0.until <= now }
        let stale = outstanding.values.filter { now - $0.createdAt >= offerTimeoutSeconds }
            .sorted { $0.number < $1.number }.map(\.offer.id)
        for id in stale {
            rescind(offerId: id, reason: "not answered within \(formatNumber(offerTimeoutSeconds)) s")
        }
        return stale
    }

    /// Changes the machine's resources (a config reload). Outstanding offers are rescinded, as
    /// what they hold may no longer exist; allocations stay (a shrunk machine is over-committed
    /// until tasks end, never a reason to kill them).
    public mutating func updateTotal(_ newBase: ResourceSet, gpuIndices: [Int]) {
        rescindAll(reason: "the agent's resources changed")
        base = newBase
        self.gpuIndices = gpuIndices.sorted()
        let applied = Self.applying(dynamicReservations, to: newBase)
        total = applied.total
        dynamicReservations = applied.reservations
    }

    // MARK: tasks

    /// Gives back a task's resources (it ended). Returns its allocation, nil if it had none.
    @discardableResult
    public mutating func release(taskId: String) -> TaskAllocation? {
        guard let allocation = allocations.removeValue(forKey: taskId) else { return nil }
        if let set = allocatedSets.removeValue(forKey: taskId) { allocated.subtractSaturating(set) }
        return allocation
    }

    /// Records an allocation found at recovery (from a task's checkpoint). It is kept even when it
    /// no longer fits (the task is running: its resources are in use whatever the book says);
    /// outstanding offers that overlap it are rescinded. Returns a note when something was off.
    @discardableResult
    public mutating func restore(_ allocation: TaskAllocation) -> String? {
        var note: String?
        let set: ResourceSet
        do {
            set = try ResourceSet(allocation.resources, at: "resources")
        } catch {
            set = ResourceSet()
            note = "task \(allocation.taskId): allocation not understood (\(error)); its resources are not counted"
        }
        if let previous = allocatedSets[allocation.taskId] { allocated.subtractSaturating(previous) }
        if note == nil, let shortage = free.shortage(of: set) {
            note = "task \(allocation.taskId): \(shortage.message("free")); kept over-committed"
        }
        allocations[allocation.taskId] = allocation
        allocatedSets[allocation.taskId] = set
        allocated.add(set)
        rescindOverlapping(set, reason: "its resources belong to task \(allocation.taskId), found at recovery")
        return note
    }

    // MARK: internals

    /// The outstanding offers named by `ids`, all of `scheduler`; otherwise why not, naming the id.
    func claim(_ ids: [String], scheduler: String, field: String) throws(APIError) -> [Outstanding] {
        var entries: [Outstanding] = []
        for (i, id) in ids.enumerated() {
            let at = FieldPath.index(field, i)
            guard let entry = outstanding[id] else {
                if let reason = retired[id] { throw .conflict(at, reason) }
                throw .notFound(at, "offer \(quoted(id)) is unknown")
            }
            if entry.scheduler != scheduler { throw .conflict(at, "offer \(id) was made to another scheduler") }
            entries.append(entry)
        }
        return entries
    }

    mutating func retire(_ offerId: String, _ reason: String) {
        outstanding[offerId] = nil
        if retired.updateValue(reason, forKey: offerId) == nil { retiredOrder.append(offerId) }
        if retiredOrder.count > Self.maxRetired {
            // Forget the oldest tenth at once: cheap, and such old ids are only "unknown" then.
            let drop = Self.maxRetired / 10
            for id in retiredOrder.prefix(drop) { retired[id] = nil }
            retiredOrder.removeFirst(drop)
        }
    }

    mutating func addFilter(scheduler: String, resources: ResourceSet, seconds: Double, now: Double) {
        guard seconds > 0, !resources.isEmpty else { return }
        filters.append(DeclineFilter(scheduler: scheduler, resources: resources, until: now + seconds))
        let mine = filters.indices.filter { filters[$0].scheduler == scheduler }
        if mine.count > Self.maxFiltersPerScheduler { filters.remove(at: mine[0]) }
    }

    /// Rescinds outstanding offers, newest first, until they fit in what is not allocated.
    mutating func rescindOverlapping(_ taken: ResourceSet, reason: String) {
        var offered = ResourceSet()
        for entry in outstanding.values { offered.add(entry.resources) }
        for entry in outstanding.values.sorted(by: { $0.number > $1.number }) where !free.contains(offered) {
            if entry.resources.overlaps(taken) {
                offered.subtractSaturating(entry.resources)
                rescind(offerId: entry.offer.id, reason: reason)
            }
        }
    }
}
