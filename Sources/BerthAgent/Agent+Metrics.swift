import BerthAPI
import BerthMetrics
import BerthMetricsServer
import BerthNetwork
import BerthRuntime

extension Agent {
    /// berthd hands these over once its event loops exist: the berth_* series and the per-task
    /// StatsD relay (STATSD_UDP_HOST/PORT in every task's environment).
    public func useMetrics(_ metrics: AgentMetrics, relay: StatsDRelay?) {
        self.metrics = metrics
        self.relay = relay
        metrics.recovered(in: recoverySeconds)
    }

    /// The containers a scrape or a StatsD push reads, built from the tasks at that moment.
    public func metricTargets() -> [MetricTarget] {
        var known: [String: ContainerMetricsInfo] = [:]
        let targets = records.values.compactMap { record -> MetricTarget? in
            guard [.starting, .running, .killing].contains(record.status.state) else { return nil }
            let containerID = layout(record.id).containerID(record.run)
            // Reading every state file at each scrape cost more than the scrape (500 tasks:
            // about 300 ms of CPU). A run's cgroup never changes; its init is cached once known.
            guard let info = metricsInfo[containerID] ?? ((try? runtime.metricsInfo(id: containerID)) ?? nil) else { return nil }
            if info.initPID != nil { known[containerID] = info }
            return MetricTarget(
                taskID: record.id, containerID: containerID, image: record.definition.container?.image ?? "",
                labels: record.definition.labels, cgroup: info.cgroup, initPID: info.initPID, startTime: info.created)
        }
        metricsInfo = known
        return targets
    }

    /// Resources and task counts for the berth_* gauges; berthd calls it at scrape time.
    public func refreshMetrics() {
        guard let metrics else { return }
        func scalars(_ set: ResourceSet) -> [String: Double] {
            var result: [String: Double] = [:]
            for name in ["cpus", "mem", "disk", "gpus"] { result[name] = set.scalar(name) }
            result["ports"] = Double(set.ranges("ports").count)
            return result
        }
        var offered = ResourceSet()
        for offer in book.outstandingOffers {
            if let set = try? ResourceSet(offer.resources, at: "offer") { offered.add(set) }
        }
        metrics.setResources(total: scalars(book.total), used: scalars(book.allocated), offered: scalars(offered))
        metrics.setTasks(byState: Dictionary(taskCounts().map { ($0.key.rawValue.lowercased(), $0.value) }, uniquingKeysWith: +))
    }

    /// The task's StatsD endpoint: on the host's loopback, or on the bridge's gateway for a
    /// bridge task (its own loopback is not the host's); none-mode tasks cannot reach one.
    func openRelay(for record: TaskRecord, containerID: String) async -> [String: String] {
        guard let relay else { return [:] }
        let host: String
        switch record.definition.network.mode {
        case .host: host = "127.0.0.1"
        case .bridge: host = configuration.network.bridgeGateway
        case .none: return [:]
        }
        do {
            return try await relay.open(taskID: record.id, containerID: containerID, host: host).environment
        } catch {
            log.warn("no StatsD endpoint for the task", ["task": record.id, "error": "\(error)"])
            return [:]
        }
    }

    func closeRelay(_ id: String) {
        guard let relay else { return }
        Task { await relay.close(taskID: id) }
    }
}

extension NetworkSettings {
    /// The first address of the bridge's subnet: host-local hands it to the bridge as gateway.
    var bridgeGateway: String {
        let network = bridgeSubnet.split(separator: "/").first.map(String.init) ?? bridgeSubnet
        var octets = network.split(separator: ".").compactMap { Int($0) }
        guard octets.count == 4 else { return "127.0.0.1" }
        octets[3] += 1
        return octets.map(String.init).joined(separator: ".")
    }
}
