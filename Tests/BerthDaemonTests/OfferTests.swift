import BerthAPI
import BerthLinux
import BerthOCI
import BerthTestSupport
import Foundation
import Testing

@Suite(.enabled(if: TestEnvironment.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct OfferTests {
    private func task(_ id: String, cpus: Double = 0.1, mem: Double = 32, ports: Int = 0, cmd: String = "sleep 600") throws -> TaskDefinition {
        try OCIJSON.decode(TaskDefinition.self, from: Data(#"{"id":"\#(id)","cmd":"\#(cmd)","resources":{"cpus":\#(cpus),"mem":\#(mem),"ports":\#(ports)}}"#.utf8), source: "t")
    }

    private func scalar(_ offer: Offer, _ name: String) -> Double {
        offer.resources.filter { $0.name == name }.compactMap(\.scalar).reduce(0, +)
    }

    @Test("an accepted offer launches its task with ports from the offered range; the rest is offered again")
    func acceptLaunches() throws {
        let daemon = try Daemon("offer-accept")
        defer { daemon.cleanUp() }
        let offers = try daemon.client.call("GET", Routes.offers + "?scheduler=s1", as: [Offer].self)
        try #require(offers.count == 1)
        let offer = offers[0]
        #expect(scalar(offer, "cpus") > 0)
        #expect(offer.resources.contains { $0.name == "ports" && $0.ranges == [ValueRange(begin: 31000, end: 32000)] })
        let request = AcceptRequest(offerIds: [offer.id], operations: [Operation(type: .launch, tasks: [try task("offer-web", cpus: 0.5, ports: 2)])])
        let response = try daemon.client.call("POST", Routes.acceptOffers + "?scheduler=s1", body: request, as: AcceptResponse.self)
        let allocation = try #require(response.allocations.first)
        #expect(allocation.hostPorts.count == 2)
        #expect(allocation.hostPorts.allSatisfy { (31000...32000).contains($0) })
        let running = try daemon.wait("offer-web", for: .running)
        #expect(running.allocation?.offerIds == [offer.id])
        // The accepted offer is used up; a new one holds what is left.
        let again = try daemon.client.call("GET", Routes.offers + "?scheduler=s1", as: [Offer].self)
        try #require(again.count == 1)
        #expect(again[0].id != offer.id)
        #expect(abs(scalar(again[0], "cpus") - (scalar(offer, "cpus") - 0.5)) < 0.001)
        // The task's environment has its ports.
        _ = try daemon.client.call("POST", Routes.killTask("offer-web"), body: KillRequest(graceSeconds: 0), as: TaskInfo.self)
        try daemon.wait("offer-web", for: .killed)
        // Its resources return when it ends.
        let after = try daemon.client.call("GET", Routes.offers + "?scheduler=s1", as: [Offer].self)
        #expect(abs(after.map { scalar($0, "cpus") }.reduce(0, +) - scalar(offer, "cpus")) < 0.001)
    }

    @Test("a stale, unknown or over-used offer is refused with the reason")
    func refusals() throws {
        let daemon = try Daemon("offer-refuse")
        defer { daemon.cleanUp() }
        let offer = try #require(try daemon.client.call("GET", Routes.offers, as: [Offer].self).first)
        let greedy = AcceptRequest(offerIds: [offer.id], operations: [Operation(type: .launch, tasks: [try task("offer-greedy", cpus: 4000)])])
        let tooMuch = #expect(throws: APIClientError.self) {
            try daemon.client.call("POST", Routes.acceptOffers, body: greedy, as: AcceptResponse.self)
        }
        #expect(tooMuch?.status == 409)
        #expect(tooMuch?.description.contains("cpus") == true, "\(String(describing: tooMuch))")
        // The refused accept left the offer usable.
        let fine = AcceptRequest(offerIds: [offer.id], operations: [Operation(type: .launch, tasks: [try task("offer-fine")])])
        _ = try daemon.client.call("POST", Routes.acceptOffers, body: fine, as: AcceptResponse.self)
        // Accepting it again is stale.
        let stale = #expect(throws: APIClientError.self) {
            try daemon.client.call("POST", Routes.acceptOffers, body: AcceptRequest(offerIds: [offer.id], operations: [
                Operation(type: .launch, tasks: [try task("offer-stale")])]), as: AcceptResponse.self)
        }
        #expect(stale?.description.contains(offer.id) == true)
        let unknown = #expect(throws: APIClientError.self) {
            try daemon.client.call("POST", Routes.acceptOffers, body: AcceptRequest(offerIds: ["nope"], operations: [
                Operation(type: .launch, tasks: [try task("offer-nope")])]), as: AcceptResponse.self)
        }
        #expect(unknown?.description.contains("nope") == true)
    }

    @Test("a launch without an offer rescinds the outstanding offer it needs; a late accept is told why")
    func rescind() throws {
        let config = try configWithCPUs(1)
        defer { try? FileSystem.removeTree(FileSystem.parentDirectory(of: config)) }
        let daemon = try Daemon("offer-rescind", arguments: ["--config", config])
        defer { daemon.cleanUp() }
        let offer = try #require(try daemon.client.call("GET", Routes.offers, as: [Offer].self).first)
        #expect(scalar(offer, "cpus") == 1)
        _ = try daemon.launch(#"{"id":"offer-direct","cmd":"sleep 600","resources":{"cpus":0.8,"mem":32}}"#)
        let late = #expect(throws: APIClientError.self) {
            try daemon.client.call("POST", Routes.acceptOffers, body: AcceptRequest(offerIds: [offer.id], operations: [
                Operation(type: .launch, tasks: [try task("offer-late")])]), as: AcceptResponse.self)
        }
        #expect(late?.description.contains("rescinded") == true, "\(String(describing: late))")
        // More than is free is refused outright.
        let over = #expect(throws: APIClientError.self) {
            try daemon.launch(#"{"id":"offer-over","cmd":"true","resources":{"cpus":0.5,"mem":32}}"#)
        }
        #expect(over?.description.contains("cpus") == true)
    }

    @Test("a declined offer's resources are not offered to that scheduler again for refuseSeconds")
    func decline() throws {
        let daemon = try Daemon("offer-decline")
        defer { daemon.cleanUp() }
        let offer = try #require(try daemon.client.call("GET", Routes.offers + "?scheduler=a", as: [Offer].self).first)
        // Long enough that the checks below come inside it even on a loaded machine. The clock
        // starts before the decline, so berthd's refusal lasts at least until `declined` plus
        // refuseSeconds: an answer we got before then was given inside it.
        let refuseSeconds = 5.0
        let declined = ContinuousClock.now
        func insideRefusal() -> Bool { ContinuousClock.now - declined < .seconds(refuseSeconds) }
        _ = try daemon.client.call("POST", Routes.declineOffers + "?scheduler=a",
                                   body: DeclineRequest(offerIds: [offer.id], refuseSeconds: refuseSeconds), as: AgentClient.Empty.self)
        let refused = try daemon.client.call("GET", Routes.offers + "?scheduler=a", as: [Offer].self)
        if insideRefusal() { #expect(refused.isEmpty) }
        // Another scheduler is still offered everything; declining it at once frees the
        // resources for `a` again.
        let others = try daemon.client.call("GET", Routes.offers + "?scheduler=b", as: [Offer].self)
        #expect(others.count == 1)
        let _ = try daemon.client.call("POST", Routes.declineOffers + "?scheduler=b",
                                       body: DeclineRequest(offerIds: others.map(\.id), refuseSeconds: 0), as: AgentClient.Empty.self)
        let stillRefused = try daemon.client.call("GET", Routes.offers + "?scheduler=a", as: [Offer].self)
        if insideRefusal() { #expect(stillRefused.isEmpty, "offered again inside refuseSeconds") }
        // Offered to `a` again once refuseSeconds are over, and not before.
        var again: [Offer] = []
        #expect(try Host.eventually(timeout: .seconds(90)) {
            again = try daemon.client.call("GET", Routes.offers + "?scheduler=a", as: [Offer].self)
            return !again.isEmpty
        })
        #expect(again.count == 1)
        #expect(ContinuousClock.now - declined >= .seconds(refuseSeconds), "offered again before refuseSeconds passed")
    }

    /// A config file offering exactly `cpus` CPUs.
    private func configWithCPUs(_ cpus: Double) throws -> String {
        let directory = try TestEnvironment.temporaryDirectory("offer-config")
        let path = directory + "/berthd.json"
        try FileSystem.writeAtomically(Array(#"{"inventory":{"cpus":\#(cpus)}}"#.utf8), to: path)
        return path
    }
}
