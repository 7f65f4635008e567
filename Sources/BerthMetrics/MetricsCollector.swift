import BerthAsync
import BerthLinux

/// What /metrics shows, put together at scrape time: every container's series read from its
/// cgroup now, the node, berthd's own berth_* series, the StatsD relay's series and the tasks'
/// own Prometheus endpoints. A container that vanishes mid-scrape drops its series; a task
/// endpoint that fails drops its own; the scrape itself never fails.
public final class MetricsCollector: Sendable {
    public struct Configuration: Sendable {
        /// Task labels show as <prefix><name>, sanitised.
        public var labelPrefix = "label_"
        /// Paths whose file systems show as berth_node_disk_*.
        public var diskPaths: [String] = ["/"]
        /// Samples kept per task from its own Prometheus endpoint.
        public var taskSeriesLimit = 1000
        public var taskScrapeTimeout: Duration = .seconds(1)

        public init() {}
    }

    public let configuration: Configuration
    public let agent: AgentMetrics
    public let relay: (any SeriesSource)?

    public init(configuration: Configuration = Configuration(), agent: AgentMetrics = AgentMetrics(), relay: (any SeriesSource)? = nil) {
        self.configuration = configuration
        self.agent = agent
        self.relay = relay
    }

    /// The whole page, in the text format (content type `Exposition.contentType`).
    public func scrape(_ targets: [MetricTarget]) async -> [UInt8] {
        let started = ContinuousClock.now
        let configuration = self.configuration
        // File reads on their own thread, task endpoints in parallel with them.
        async let containers = runBlocking("metrics scrape") {
            var exposition = Exposition()
            Self.writeContainers(targets, labelPrefix: configuration.labelPrefix, into: &exposition)
            NodeMetrics.write(diskPaths: configuration.diskPaths, into: &exposition)
            return exposition
        }
        let scraped = await scrapeTasks(targets)
        var exposition = await containers
        agent.write(into: &exposition)
        if let relay { relay.write(into: &exposition) }
        exposition.seal()
        for (target, result) in scraped {
            let identity = TargetIdentity(target, labelPrefix: configuration.labelPrefix)
            let labels = Labels.render([("task_id", target.taskID), ("container_id", target.containerID)])
            exposition.add(TaskScraper.up, labels: labels, value: .integer(result == nil ? 0 : 1))
            guard let result else { continue }
            let names = Set(TargetIdentity.pairs(target, labelPrefix: configuration.labelPrefix).map(\.0))
            let skipped = TaskScraper.write(result, identity: identity, identityNames: names, into: &exposition)
            exposition.add(TaskScraper.skipped, labels: labels, value: .integer(UInt64(skipped)))
        }
        let page = exposition.render()
        let elapsed = ContinuousClock.now - started
        agent.scraped(in: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        return page
    }

    /// Every target's container_* series. Synchronous: it only reads files, kept open from one
    /// scrape to the next (see `KernelFiles`); containers not in `targets` have theirs closed.
    public static func writeContainers(_ targets: [MetricTarget], labelPrefix: String = "label_", into exposition: inout Exposition) {
        KernelFiles.shared.withLock { cache in
            cache.scrape { files in
                var devices = DeviceNames()
                var page = ContainerPage()
                for target in targets {
                    page.begin(target, labelPrefix: labelPrefix, files: files.files(of: target))
                    _ = ContainerMetrics.write(target, files: files, devices: &devices, into: &page)
                }
                page.write(into: &exposition)
            }
        }
    }

    private func scrapeTasks(_ targets: [MetricTarget]) async -> [(MetricTarget, TaskScraper.Result?)] {
        let wanted = targets.filter { $0.prometheusEndpoint != nil }
        guard !wanted.isEmpty else { return [] }
        let limit = configuration.taskSeriesLimit, timeout = configuration.taskScrapeTimeout
        return await withTaskGroup(of: (Int, TaskScraper.Result?).self) { group in
            for (i, target) in wanted.enumerated() {
                group.addTask {
                    (i, await runBlocking("task scrape") { TaskScraper.scrape(target, limit: limit, timeout: timeout) })
                }
            }
            var results = [TaskScraper.Result?](repeating: nil, count: wanted.count)
            for await (i, result) in group { results[i] = result }
            return Array(zip(wanted, results))
        }
    }
}

/// Series kept in memory rather than read at scrape time: the StatsD relay's (BerthMetricsServer).
public protocol SeriesSource: Sendable {
    func write(into exposition: inout Exposition)
}
