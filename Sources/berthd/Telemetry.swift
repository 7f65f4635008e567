import BerthAgent
import BerthAPI
import BerthMetrics
import BerthMetricsServer
import NIOPosix

/// The metrics side of berthd: the Prometheus endpoint, the StatsD push and the per-task relay.
struct Telemetry: Sendable {
    let server: MetricsServer
    let relay: StatsDRelay
    let emitter: StatsDEmitter?
    let address: String
    let log: AgentLog
    let agent: Agent
    let eventLoops: MultiThreadedEventLoopGroup

    init(settings: Settings, eventLoops: MultiThreadedEventLoopGroup, agent: Agent, log: AgentLog) async throws {
        let (host, port): (String, Int)
        do {
            (host, port) = try MetricsServer.parseAddress(settings.metricsAddress)
        } catch {
            throw APIError(message: error.message)
        }
        var sender: StatsDSender?
        if let statsd = settings.statsdAddress {
            do {
                sender = try StatsDSender(address: statsd)
            } catch {
                throw APIError(message: error.message)
            }
        }
        let agentMetrics = AgentMetrics()
        relay = StatsDRelay(group: eventLoops, upstream: sender, tagging: settings.statsdTagging)
        var configuration = MetricsCollector.Configuration()
        configuration.diskPaths = ["/", settings.stateDir]
        let collector = MetricsCollector(configuration: configuration, agent: agentMetrics, relay: relay)
        server = MetricsServer(host: host, port: port) {
            await agent.refreshMetrics()
            return await collector.scrape(await agent.metricTargets())
        }
        emitter = sender.map { StatsDEmitter(sender: $0, tagging: settings.statsdTagging) }
        address = settings.metricsAddress
        self.log = log
        self.agent = agent
        self.eventLoops = eventLoops
        await agent.useMetrics(agentMetrics, relay: relay)
    }

    func start(in group: inout ThrowingTaskGroup<Void, any Error>) {
        let server = server, log = log, address = address, agent = agent, eventLoops = eventLoops
        let interval = Duration.seconds(10)
        group.addTask {
            try await server.run(group: eventLoops) { port in
                log.info("metrics on http://\(address.split(separator: ":").dropLast().joined(separator: ":")):\(port)/metrics")
            }
        }
        if let emitter {
            group.addTask { await emitter.run(every: interval) { await agent.metricTargets() } }
        }
    }
}
