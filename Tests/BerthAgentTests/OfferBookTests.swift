import Foundation
import Testing
import BerthAPI
import BerthOCI
@testable import BerthAgent

/// 4 cpus, 4096 MiB, 10000 MiB disk, ports 31000-31009, and `gpus` GPU devices.
func makeBook(cpus: Double = 4, gpus: Int = 0, timeout: Double = 60) -> OfferBook {
    var total = sum(.scalar("cpus", cpus), .scalar("mem", 4096), .scalar("disk", 10000),
                    .ranges("ports", RangeList([31000...31009])))
    if gpus > 0 { total.add(.scalar("gpus", Double(gpus))) }
    return OfferBook(agentId: "agent-1", hostname: "node-7", attributes: ["rack": "r1"], total: total,
                     gpuIndices: Array(0..<gpus), offerIdPrefix: "b1", offerTimeoutSeconds: timeout)
}

func task(_ id: String, cpus: Double = 1, mem: Double = 512, ports: Int = 0, gpus: Int = 0, role: String = "*",
          mappings: [PortMapping] = []) -> TaskDefinition {
    TaskDefinition(id: id, cmd: "sleep 100", resources: TaskResources(cpus: cpus, mem: mem, disk: 0, gpus: gpus, ports: ports),
                   role: role, network: NetworkInfo(mode: .host, portMappings: mappings))
}

func launch(_ offerIds: [String], _ tasks: [TaskDefinition], group: Bool = false, refuse: Double? = nil) -> AcceptRequest {
    AcceptRequest(offerIds: offerIds, operations: [Operation(type: group ? .launchGroup : .launch, tasks: tasks)], refuseSeconds: refuse)
}

/// The sum of `parts` (a chain of `+` over implicit members is too slow for the type checker).
func sum(_ parts: ResourceSet...) -> ResourceSet {
    var total = ResourceSet()
    for part in parts { total.add(part) }
    return total
}

/// The newest offer for `scheduler`; records an issue (instead of crashing) when there is none.
func firstOffer(_ book: inout OfferBook, _ scheduler: String, role: String = "*", now: Double) throws -> Offer {
    try #require(book.offers(for: scheduler, role: role, now: now).last)
}

func resources(of offer: Offer) -> ResourceSet {
    (try? ResourceSet(offer.resources, at: "offer")) ?? ResourceSet()
}

@Suite("Offers: made, accepted, declined, rescinded")
struct OfferBookTests {
    @Test func anOfferHoldsTheUnallocatedResourcesOnce() throws {
        var book = makeBook()
        let offers = book.offers(for: "s1", now: 0)
        try #require(offers.count == 1)
        #expect(offers[0].id == "b1-O1")
        #expect(offers[0].agentId == "agent-1")
        #expect(offers[0].hostname == "node-7")
        #expect(offers[0].attributes == ["rack": "r1"])
        #expect(resources(of: offers[0]) == book.total)
        #expect(book.offers(for: "s1", now: 1) == offers)
        #expect(book.offers(for: "s2", now: 1).isEmpty)
        #expect(book.available.isEmpty)
        #expect(book.free == book.total)
    }

    @Test func acceptLaunchesPicksPortsAndReturnsLeftovers() throws {
        var book = makeBook()
        let offer = try firstOffer(&book, "s1", now: 0)
        let web = task("web", ports: 2, mappings: [PortMapping(hostPort: 0, name: "http"), PortMapping(hostPort: 31005)])
        let response = try book.accept(launch([offer.id], [web]), scheduler: "s1", now: 1)
        try #require(response.allocations.count == 1)
        let allocation = response.allocations[0]
        #expect(allocation.taskId == "web")
        #expect(allocation.hostPorts == [31000, 31005, 31001, 31002])
        #expect(allocation.offerIds == ["b1-O1"])
        #expect(try ResourceSet(allocation.resources, at: "r")
            == sum(.scalar("cpus", 1), .scalar("mem", 512), .ranges("ports", RangeList([31000...31002, 31005...31005]))))
        #expect(book.allocations["web"] == allocation)
        #expect(book.outstandingOffers.isEmpty)

        let next = book.offers(for: "s1", now: 2)
        try #require(next.map(\.id) == ["b1-O2"])
        #expect(resources(of: next[0]) == sum(.scalar("cpus", 3), .scalar("mem", 3584), .scalar("disk", 10000),
                                              .ranges("ports", RangeList([31003...31004, 31006...31009]))))

        let again = apiFailure { () throws(APIError) in try book.accept(launch([offer.id], [task("other")]), scheduler: "s1", now: 3) }
        #expect(again?.description == "offerIds[0]: offer b1-O1 was already accepted")
        #expect(again?.status == 409)
    }

    @Test func usingMoreThanOfferedIsRefusedAndChangesNothing() throws {
        var book = makeBook()
        let id = try firstOffer(&book, "s1", now: 0).id
        func refusal(_ tasks: [TaskDefinition]) -> APIError? {
            apiFailure { () throws(APIError) in try book.accept(launch([id], tasks), scheduler: "s1", now: 1) }
        }
        #expect(refusal([task("a", cpus: 5)])?.description == "operations[0].tasks[0].resources.cpus: needs cpus 5 but 4 are offered")
        #expect(refusal([task("a", cpus: 5)])?.status == 409)
        #expect(refusal([task("a", cpus: 3), task("b", cpus: 2)])?.description
            == "operations[0].tasks[1].resources.cpus: needs cpus 2 but 1 is offered")
        #expect(refusal([task("a", mem: 5000)])?.description == "operations[0].tasks[0].resources.mem: needs mem 5000 but 4096 are offered")
        #expect(refusal([task("a", mappings: [PortMapping(hostPort: 8080)])])?.description
            == "operations[0].tasks[0].network.portMappings[0].hostPort: port 8080 is not among the offered ports [31000-31009]")
        #expect(refusal([task("a", ports: 11)])?.description == "operations[0].tasks[0].resources.ports: needs 11 ports but 10 are offered")
        #expect(refusal([task("a", mappings: [PortMapping(hostPort: 31000)]), task("b", mappings: [PortMapping(hostPort: 31000)])])?.description
            == "operations[0].tasks[1].network.portMappings[0].hostPort: port 31000 is not among the offered ports [31001-31009]")
        #expect(refusal([task("a", gpus: 1)])?.description == "operations[0].tasks[0].resources.gpus: needs gpus 1 but 0 are offered")
        #expect(refusal([task("a", cpus: -1)])?.description == "operations[0].tasks[0].resources.cpus: must be between 0.001 and 4096, got -1")
        #expect(refusal([task("a", cpus: -1)])?.status == 400)

        #expect(book.allocations.isEmpty)
        #expect(book.outstandingOffers.map(\.id) == [id])
        let ok = try book.accept(launch([id], [task("a", cpus: 4, mem: 4096, ports: 10)]), scheduler: "s1", now: 2)
        #expect(ok.allocations[0].hostPorts == Array(31000...31009))
        #expect(book.available.scalar("disk") == 10000)
    }

    @Test func staleUnknownDeclinedAndForeignOffersAreRefusedWithTheReason() throws {
        var book = makeBook()
        let id = try firstOffer(&book, "s1", now: 0).id
        let unknown = apiFailure { () throws(APIError) in try book.accept(launch(["nope"], [task("a")]), scheduler: "s1", now: 1) }
        #expect(unknown?.description == #"offerIds[0]: offer "nope" is unknown"#)
        #expect(unknown?.status == 404)
        #expect(apiFailure { () throws(APIError) in try book.accept(launch([id], [task("a")]), scheduler: "s2", now: 1) }?.description
            == "offerIds[0]: offer b1-O1 was made to another scheduler")
        #expect(apiFailure { () throws(APIError) in try book.decline(DeclineRequest(offerIds: [id]), scheduler: "s2", now: 1) }?.description
            == "offerIds[0]: offer b1-O1 was made to another scheduler")
        try book.decline(DeclineRequest(offerIds: [id], refuseSeconds: 0), scheduler: "s1", now: 1)
        #expect(apiFailure { () throws(APIError) in try book.accept(launch([id], [task("a")]), scheduler: "s1", now: 2) }?.description
            == "offerIds[0]: offer b1-O1 was declined")
        #expect(apiFailure { () throws(APIError) in try book.decline(DeclineRequest(offerIds: [id]), scheduler: "s1", now: 2) }?.description
            == "offerIds[0]: offer b1-O1 was declined")
        #expect(book.retiredReason(id) == "offer b1-O1 was declined")
        // Two offers, one of them stale: nothing happens.
        let fresh = try firstOffer(&book, "s1", now: 3).id
        #expect(apiFailure { () throws(APIError) in try book.accept(launch([fresh, id], [task("a")]), scheduler: "s1", now: 3) }?.description
            == "offerIds[1]: offer b1-O1 was declined")
        #expect(book.outstandingOffers.map(\.id) == [fresh])
    }

    @Test func declinedResourcesAreNotOfferedAgainUntilTheFilterExpires() throws {
        var book = makeBook()
        let id = try firstOffer(&book, "s1", now: 0).id
        try book.decline(DeclineRequest(offerIds: [id], refuseSeconds: 10), scheduler: "s1", now: 0)
        #expect(book.offers(for: "s1", now: 1).isEmpty)
        let other = book.offers(for: "s2", now: 1)
        try #require(other.count == 1)
        #expect(resources(of: other[0]) == book.total)
        try book.decline(DeclineRequest(offerIds: [other[0].id], refuseSeconds: 0), scheduler: "s2", now: 2)
        #expect(book.offers(for: "s1", now: 9.9).isEmpty)
        let back = book.offers(for: "s1", now: 10)
        try #require(back.count == 1)
        #expect(resources(of: back[0]) == book.total)
    }

    @Test func resourcesFreedAfterADeclineAreOfferedAlone() throws {
        var book = makeBook()
        _ = try book.allocateDirect(task("t0", cpus: 1, mem: 512), now: 0)
        let id = try firstOffer(&book, "s1", now: 0).id
        try book.decline(DeclineRequest(offerIds: [id], refuseSeconds: 60), scheduler: "s1", now: 0)
        book.release(taskId: "t0")
        let offers = book.offers(for: "s1", now: 1)
        try #require(offers.count == 1)
        #expect(resources(of: offers[0]) == sum(.scalar("cpus", 1), .scalar("mem", 512)))
    }

    @Test func aLaunchWithoutOfferRescindsTheOffersItNeedsAndOnlyThose() throws {
        var book = makeBook()
        // Unoffered resources are used first: the outstanding offer survives.
        _ = try book.allocateDirect(task("t0"), now: 0)
        let kept = try firstOffer(&book, "s1", now: 0).id
        book.release(taskId: "t0")
        let t1 = try book.allocateDirect(task("t1"), now: 1)
        #expect(t1.offerIds.isEmpty)
        #expect(book.outstandingOffers.map(\.id) == [kept])

        // Nothing unoffered is left: the offer is rescinded and the task takes its resources.
        let t2 = try book.allocateDirect(task("t2", cpus: 2), now: 2)
        #expect(t2.taskId == "t2")
        #expect(book.outstandingOffers.isEmpty)
        let late = apiFailure { () throws(APIError) in try book.accept(launch([kept], [task("x")]), scheduler: "s1", now: 3) }
        #expect(late?.description == "offerIds[0]: offer b1-O1 was rescinded: its resources went to task t2, launched without an offer")
        #expect(late?.status == 409)

        // A shortage rescinds nothing.
        let offer = try firstOffer(&book, "s1", now: 4).id
        let short = apiFailure { () throws(APIError) in try book.allocateDirect(task("big", cpus: 2), now: 5) }
        #expect(short?.description == "resources.cpus: needs cpus 2 but 1 is free")
        #expect(book.outstandingOffers.map(\.id) == [offer])
        #expect(apiFailure { () throws(APIError) in try book.allocateDirect(task("t1"), now: 5) }?.description == #"id: task "t1" already exists"#)
        #expect(apiFailure { () throws(APIError) in try book.allocateDirect(task("bad/id"), now: 5) }?.description
            == #"id: must match [a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}, got "bad/id""#)
    }

    @Test func aPortIsNeverHandedOutTwice() throws {
        var book = makeBook()
        var seen: Set<Int> = []
        for i in 0..<3 {
            let allocation = try book.allocateDirect(task("t\(i)", cpus: 0.1, mem: 4, ports: 3), now: 0)
            for port in allocation.hostPorts { #expect(seen.insert(port).inserted, "port \(port) given twice") }
        }
        #expect(seen == Set(31000...31008))
        #expect(apiFailure { () throws(APIError) in try book.allocateDirect(task("t3", cpus: 0.1, mem: 4, ports: 3), now: 0) }?.description
            == "resources.ports: needs 3 ports but 1 is free")
        #expect(apiFailure { () throws(APIError) in try book.allocateDirect(task("fixed", cpus: 0.1, mem: 4, mappings: [PortMapping(hostPort: 31000)]), now: 0) }?.description
            == "network.portMappings[0].hostPort: port 31000 is not among the free ports [31009-31009]")
        let released = book.release(taskId: "t0")
        #expect(released?.hostPorts == [31000, 31001, 31002])
        #expect(book.release(taskId: "t0") == nil)
        let fixed = try book.allocateDirect(task("fixed", cpus: 0.1, mem: 4, mappings: [PortMapping(hostPort: 31000, protocol: .tcp),
                                                                                          PortMapping(hostPort: 31000, protocol: .udp)]), now: 0)
        #expect(fixed.hostPorts == [31000, 31000])
        #expect(book.available.ranges("ports") == RangeList([31001...31002, 31009...31009]))
    }

    @Test func offersOfTwoSchedulersNeverOverlap() throws {
        var book = makeBook()
        _ = try book.allocateDirect(task("t0", cpus: 2, mem: 1024, ports: 5), now: 0)
        let first = try firstOffer(&book, "s1", now: 0)
        book.release(taskId: "t0")
        let second = try firstOffer(&book, "s2", now: 0)
        #expect(resources(of: first) == sum(.scalar("cpus", 2), .scalar("mem", 3072), .scalar("disk", 10000), .ranges("ports", RangeList([31005...31009]))))
        #expect(resources(of: second) == sum(.scalar("cpus", 2), .scalar("mem", 1024), .ranges("ports", RangeList([31000...31004]))))
        #expect(resources(of: first) + resources(of: second) == book.total)
    }

    @Test func unansweredOffersExpire() throws {
        var book = makeBook(timeout: 60)
        let id = try firstOffer(&book, "s1", now: 0).id
        #expect(book.expire(now: 59.9).isEmpty)
        #expect(apiFailure { () throws(APIError) in try book.accept(launch([id], [task("a")]), scheduler: "s1", now: 61) }?.description
            == "offerIds[0]: offer b1-O1 was rescinded: not answered within 60 s")
        #expect(book.offers(for: "s1", now: 61).map(\.id) == ["b1-O2"])
    }

    @Test func reserveAndUnreserveMoveResourcesBetweenRoles() throws {
        var book = makeBook()
        let first = try firstOffer(&book, "s1", now: 0).id
        let reserve = AcceptRequest(offerIds: [first], operations: [Operation(type: .reserve, resources: [
            .scalar("cpus", 2, role: "web"), .ranges("ports", [ValueRange(begin: 31000, end: 31001)], role: "web"),
        ])])
        let reserved = try book.accept(reserve, scheduler: "s1", now: 1)
        #expect(reserved.reserved.count == 2)
        #expect(book.total == sum(.scalar("cpus", 2), .scalar("cpus", 2, role: "web"), .scalar("mem", 4096), .scalar("disk", 10000),
                                  .ranges("ports", RangeList([31002...31009])), .ranges("ports", RangeList([31000...31001]), role: "web")))
        #expect(book.dynamicReservations == sum(.scalar("cpus", 2, role: "web"), .ranges("ports", RangeList([31000...31001]), role: "web")))

        // A "*" scheduler is not offered the role's resources; a "web" one is offered both.
        let star = try firstOffer(&book, "s1", now: 2)
        #expect(resources(of: star).scalar("cpus", role: "web") == 0)
        #expect(resources(of: star).scalar("cpus") == 2)
        try book.decline(DeclineRequest(offerIds: [star.id], refuseSeconds: 0), scheduler: "s1", now: 2)
        let webOffer = try firstOffer(&book, "s2", role: "web", now: 2)
        #expect(resources(of: webOffer).scalar("cpus") == 4)
        let launched = try book.accept(launch([webOffer.id], [task("w", cpus: 3, ports: 3, role: "web")]), scheduler: "s2", now: 3)
        #expect(try ResourceSet(launched.allocations[0].resources, at: "r") == sum(.scalar("cpus", 2, role: "web"), .scalar("cpus", 1),
            .scalar("mem", 512), .ranges("ports", RangeList([31000...31001]), role: "web"), .ranges("ports", RangeList([31002...31002]))))
        #expect(launched.allocations[0].hostPorts == [31000, 31001, 31002])

        // A "*" task cannot use reserved resources.
        book.release(taskId: "w")
        let again = try firstOffer(&book, "s2", role: "web", now: 4).id
        #expect(apiFailure { () throws(APIError) in try book.accept(launch([again], [task("x", cpus: 3)]), scheduler: "s2", now: 4) }?.description
            == "operations[0].tasks[0].resources.cpus: needs cpus 3 but 2 are offered")
        #expect(apiFailure { () throws(APIError) in
            try book.accept(AcceptRequest(offerIds: [again], operations: [Operation(type: .unreserve, resources: [.scalar("cpus", 5, role: "web")])]),
                            scheduler: "s2", now: 4)
        }?.description == "operations[0].resources[0]: cpus(web) 5 is not a dynamic reservation (static ones are changed in the config)")
        #expect(apiFailure { () throws(APIError) in
            try book.accept(AcceptRequest(offerIds: [again], operations: [Operation(type: .reserve, resources: [.scalar("cpus", 10, role: "db")])]),
                            scheduler: "s2", now: 4)
        }?.description == "operations[0].resources[0]: needs cpus 10 but 2 are offered unreserved")
        let unreserve = AcceptRequest(offerIds: [again], operations: [Operation(type: .unreserve, resources: [
            .scalar("cpus", 2, role: "web"), .ranges("ports", [ValueRange(begin: 31000, end: 31001)], role: "web"),
        ])])
        _ = try book.accept(unreserve, scheduler: "s2", now: 5)
        #expect(book.dynamicReservations.isEmpty)
        #expect(book.total == makeBook().total)
    }

    @Test func aGroupIsLaunchedWhollyOrNotAtAll() throws {
        var book = makeBook()
        let id = try firstOffer(&book, "s1", now: 0).id
        let tooBig = apiFailure { () throws(APIError) in
            try book.accept(launch([id], [task("g1", cpus: 2), task("g2", cpus: 3)], group: true), scheduler: "s1", now: 1)
        }
        #expect(tooBig?.description == "operations[0].tasks[1].resources.cpus: needs cpus 3 but 2 are offered")
        #expect(book.allocations.isEmpty)
        let response = try book.accept(launch([id], [task("g1", cpus: 2), task("g2", cpus: 2)], group: true), scheduler: "s1", now: 1)
        #expect(response.allocations.map(\.group) == ["g1", "g1"])
        #expect(book.available.scalar("cpus") == 0)
        let direct = try makeBookAllocatingGroup()
        #expect(direct.map(\.group) == ["d1", "d1"])
        var other = makeBook()
        var isolated = task("d2")
        isolated.network.mode = .none
        let mixed = apiFailure { () throws(APIError) in try other.allocateDirect(group: [task("d1"), isolated], isGroup: true, now: 0) }
        #expect(mixed?.description == "tasks[1].network: tasks of a group share one network; it must equal the first task's")
        #expect(other.allocations.isEmpty)
    }

    private func makeBookAllocatingGroup() throws(APIError) -> [TaskAllocation] {
        var book = makeBook()
        return try book.allocateDirect(group: [task("d1"), task("d2")], isGroup: true, now: 0)
    }

    @Test func gpusAreHandedOutAsDistinctDevices() throws {
        var book = makeBook(gpus: 2)
        #expect(try book.allocateDirect(task("a", gpus: 1), now: 0).gpus == [0])
        #expect(try book.allocateDirect(task("b", gpus: 1), now: 0).gpus == [1])
        #expect(apiFailure { () throws(APIError) in try book.allocateDirect(task("c", gpus: 1), now: 0) }?.description
            == "resources.gpus: needs gpus 1 but 0 are free")
        book.release(taskId: "a")
        #expect(try book.allocateDirect(task("c", gpus: 1), now: 0).gpus == [0])
    }

    @Test func fixedPointScalarsFillExactly() throws {
        var book = makeBook(cpus: 0.3)
        for i in 0..<3 { _ = try book.allocateDirect(task("t\(i)", cpus: 0.1, mem: 4), now: 0) }
        #expect(book.available.scalar("cpus") == 0)
        #expect(apiFailure { () throws(APIError) in try book.allocateDirect(task("t3", cpus: 0.1, mem: 4), now: 0) }?.description
            == "resources.cpus: needs cpus 0.1 but 0 are free")
        for i in 0..<3 { book.release(taskId: "t\(i)") }
        #expect(book.free == book.total)
        #expect(book.allocated.isEmpty)
    }

    @Test func checkpointRestoresReservationsAndAllocations() throws {
        var book = makeBook()
        let id = try firstOffer(&book, "s1", now: 0).id
        _ = try book.accept(AcceptRequest(offerIds: [id], operations: [
            Operation(type: .reserve, resources: [.scalar("mem", 1024, role: "db")]),
            Operation(type: .launch, tasks: [task("a", ports: 2), task("b", cpus: 0.5, mem: 1024, role: "db")]),
        ]), scheduler: "s1", now: 0)
        _ = try book.allocateDirect(task("c", mappings: [PortMapping(hostPort: 31009)]), now: 0)
        _ = book.offers(for: "s1", now: 1)

        let data = try OCIJSON.encode(book.checkpoint)
        let loaded = try OCIJSON.decode(OfferBookCheckpoint.self, from: data, source: "offers.json", rejectingUnknownFields: true)
        #expect(loaded == book.checkpoint)
        #expect(loaded.allocations.map(\.taskId) == ["a", "b", "c"])

        var restored = makeBook()
        let notes = restored.restore(loaded)
        #expect(notes.isEmpty)
        #expect(restored.total == book.total)
        #expect(restored.allocations == book.allocations)
        #expect(restored.allocated == book.allocated)
        #expect(restored.outstandingOffers.isEmpty)
        #expect(restored.available == book.free)
        #expect(apiFailure { () throws(APIError) in try restored.allocateDirect(task("a"), now: 2) }?.description == #"id: task "a" already exists"#)
    }

    @Test func recoveryKeepsWhatNoLongerFitsAndSaysSo() throws {
        var book = makeBook()
        let offer = try firstOffer(&book, "s1", now: 0).id
        let big = TaskAllocation(taskId: "big", resources: [.scalar("cpus", 8)], hostPorts: [])
        #expect(book.restore(big) == "task big: needs cpus 8 but 4 are free; kept over-committed")
        #expect(book.allocations["big"] == big)
        #expect(book.retiredReason(offer) == "offer b1-O1 was rescinded: its resources belong to task big, found at recovery")
        #expect(book.available.scalar("cpus") == 0)
        let notes = makeBookRestoring(OfferBookCheckpoint(reservations: [.scalar("cpus", 6, role: "web"), .scalar("mem", 1, role: "web")]))
        #expect(notes.notes == ["reservation of cpus(web) 6 dropped: needs cpus 6 but 4 are unreserved"])
        #expect(notes.book.total.scalar("mem", role: "web") == 1)
        book.updateTotal(makeBook(cpus: 16).total, gpuIndices: [])
        #expect(book.available.scalar("cpus") == 8)
    }

    private func makeBookRestoring(_ checkpoint: OfferBookCheckpoint) -> (book: OfferBook, notes: [String]) {
        var book = makeBook()
        let notes = book.restore(checkpoint)
        return (book, notes)
    }

    @Test func updatingTheTotalRescindsOutstandingOffers() throws {
        var book = makeBook()
        let id = try firstOffer(&book, "s1", now: 0).id
        book.updateTotal(makeBook(cpus: 2).total, gpuIndices: [])
        #expect(book.retiredReason(id) == "offer b1-O1 was rescinded: the agent's resources changed")
        #expect(resources(of: try firstOffer(&book, "s1", now: 1)).scalar("cpus") == 2)
    }

    /// Random offers, accepts, declines, direct launches and releases: after each step the
    /// allocations, the outstanding offers and what is available add up to the total exactly, and
    /// no port is in two places.
    @Test func randomWorkloadsKeepTheBooksBalanced() throws {
        var book = makeBook(cpus: 8, gpus: 2)
        var rng = SplitMix(seed: 42)
        var live: [String] = []
        var next = 0
        var counts = (accepted: 0, refused: 0, direct: 0, released: 0)
        for step in 0..<1500 {
            let now = Double(step)
            let scheduler = rng.next(3) == 0 ? "s2" : "s1"
            switch rng.next(6) {
            case 0, 1:
                let offers = book.offers(for: scheduler, now: now)
                guard let offer = offers.last else { break }
                let count = rng.next(3) + 1
                let tasks = (0..<count).map { _ -> TaskDefinition in
                    next += 1
                    let fixed = rng.next(4) == 0 ? [PortMapping(hostPort: 31000 + rng.next(10))] : []
                    return task("r\(next)", cpus: Double(rng.next(1500) + 1) / 1000, mem: Double(rng.next(900) + 4),
                                ports: rng.next(3), gpus: rng.next(5) == 0 ? 1 : 0, mappings: fixed)
                }
                if case .success(let response) = Result(catching: { () throws(APIError) in
                    try book.accept(launch([offer.id], tasks, refuse: rng.next(2) == 0 ? 0 : 2), scheduler: scheduler, now: now)
                }) {
                    live += response.allocations.map(\.taskId)
                    counts.accepted += 1
                } else {
                    counts.refused += 1
                }
            case 2:
                if let offer = book.outstandingOffers.first {
                    _ = Result(catching: { () throws(APIError) in
                        try book.decline(DeclineRequest(offerIds: [offer.id], refuseSeconds: Double(rng.next(3))), scheduler: scheduler, now: now)
                    })
                }
            case 3:
                next += 1
                if case .success(let allocation) = Result(catching: { () throws(APIError) in
                    try book.allocateDirect(task("d\(next)", cpus: Double(rng.next(2000) + 1) / 1000, mem: 64, ports: rng.next(2)), now: now)
                }) {
                    live.append(allocation.taskId)
                    counts.direct += 1
                }
            default:
                if !live.isEmpty {
                    book.release(taskId: live.remove(at: rng.next(live.count)))
                    counts.released += 1
                }
            }
            try checkBalanced(book, step: step)
        }
        // The walk must have exercised every path, not just refusals.
        #expect(counts.accepted > 50 && counts.refused > 50 && counts.direct > 50 && counts.released > 100, "\(counts)")
        for id in live { book.release(taskId: id) }
        book.rescindAll(reason: "done")
        #expect(book.available == book.total)
    }

    private func checkBalanced(_ book: OfferBook, step: Int) throws {
        var sum = book.available
        var perTask = ResourceSet()
        var ports: [Int: String] = [:]
        var gpus: Set<Int> = []
        for allocation in book.allocations.values {
            let set = try ResourceSet(allocation.resources, at: "r")
            perTask.add(set)
            for interval in set.ranges("ports").intervals {
                for port in interval {
                    try #require(ports.updateValue(allocation.taskId, forKey: port) == nil, "step \(step): port \(port) held twice")
                }
            }
            for gpu in allocation.gpus { try #require(gpus.insert(gpu).inserted, "step \(step): gpu \(gpu) held twice") }
        }
        try #require(perTask == book.allocated, "step \(step)")
        sum.add(perTask)
        for offer in book.outstandingOffers {
            let set = resources(of: offer)
            for interval in set.ranges("ports").intervals {
                for port in interval {
                    try #require(ports.updateValue(offer.id, forKey: port) == nil, "step \(step): port \(port) offered while held")
                }
            }
            sum.add(set)
        }
        try #require(sum == book.total, "step \(step): \(sum) != \(book.total)")
    }
}

/// A small seeded generator, so a failing sequence can be replayed.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(_ bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
}
