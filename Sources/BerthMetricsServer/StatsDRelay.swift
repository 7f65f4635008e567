import BerthMetrics
import NIOCore
import NIOPosix
import Synchronization

/// Each task's own StatsD endpoint. berthd opens one per task before launching it and puts
/// `endpoint.environment` (STATSD_UDP_HOST, STATSD_UDP_PORT) into the task's environment. What
/// the task sends is parsed, tagged with its task_id and container_id, forwarded to the StatsD
/// server (when there is one) and kept for /metrics. Malformed lines are counted and dropped.
public final class StatsDRelay: SeriesSource {
    public struct Endpoint: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var environment: [String: String] { ["STATSD_UDP_HOST": host, "STATSD_UDP_PORT": String(port)] }
    }

    static let malformedFamily = Family("berth_statsd_malformed_total", .counter, "StatsD lines from tasks that could not be parsed and were dropped.")
    static let relayedFamily = Family("berth_statsd_relayed_lines_total", .counter, "StatsD lines from tasks that were relayed.")
    static let droppedFamily = Family("berth_statsd_dropped_series_total", .counter, "New StatsD series from tasks dropped because the task reached its series limit.")
    static let listenersFamily = Family("berth_statsd_relay_listeners", .gauge, "Task StatsD listeners open.")

    private let group: any EventLoopGroup
    private let upstream: StatsDSender?
    private let tagging: StatsDTagging
    private let mtu: Int
    private let store: RelayStore
    private let channels = Mutex<[String: any Channel]>([:])

    /// `upstream`: the --statsd-address sender, or nil to keep the lines for /metrics only.
    public init(group: any EventLoopGroup, upstream: StatsDSender?, tagging: StatsDTagging = .dogStatsD,
                mtu: Int = 1432, seriesLimitPerTask: Int = 1000) {
        self.group = group
        self.upstream = upstream
        self.tagging = tagging
        self.mtu = mtu
        store = RelayStore(seriesLimit: seriesLimitPerTask)
    }

    /// Opens the task's listener on `host` (an ephemeral port). A task in its own network
    /// namespace cannot reach the host's 127.0.0.1: give it an address it can reach (the bridge's).
    public func open(taskID: String, containerID: String, host: String = "127.0.0.1") async throws -> Endpoint {
        await close(taskID: taskID)
        let identity = [("task_id", taskID), ("container_id", containerID)]
        store.register(taskID: taskID, identity: identity)
        let handler = RelayHandler(taskID: taskID, identity: identity, relay: self)
        let channel: any Channel
        do {
            // An address, not a name: binding to a host name would resolve it (getaddrinfo, a
            // netlink dump) on every launch.
            let address = try SocketAddress(ipAddress: host, port: 0)
            channel = try await DatagramBootstrap(group: group)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
                .channelInitializer { channel in channel.pipeline.addHandler(handler) }
                .bind(to: address).get()
        } catch {
            store.unregister(taskID: taskID)
            throw MetricsError("task \(taskID): StatsD listener on \(host): \(error)")
        }
        guard let port = channel.localAddress?.port else {
            try? await channel.close()
            store.unregister(taskID: taskID)
            throw MetricsError("task \(taskID): StatsD listener on \(host) has no port")
        }
        channels.withLock { $0[taskID] = channel }
        return Endpoint(host: host, port: port)
    }

    /// Closes the task's listener and forgets its series.
    public func close(taskID: String) async {
        let channel = channels.withLock { $0.removeValue(forKey: taskID) }
        try? await channel?.close()
        store.unregister(taskID: taskID)
    }

    /// Closes every listener (berthd shutting down).
    public func closeAll() async {
        let all = channels.withLock { channels in
            defer { channels.removeAll() }
            return Array(channels.keys)
        }
        for id in all { await close(taskID: id) }
    }

    public var malformedLines: UInt64 { store.malformed.load(ordering: .relaxed) }
    public var relayedLines: UInt64 { store.relayed.load(ordering: .relaxed) }

    /// The relayed series and the relay's own counters.
    public func write(into exposition: inout Exposition) {
        exposition.add(Self.malformedFamily, labels: "", value: .integer(malformedLines))
        exposition.add(Self.relayedFamily, labels: "", value: .integer(relayedLines))
        exposition.add(Self.droppedFamily, labels: "", value: .integer(store.droppedSeries.load(ordering: .relaxed)))
        exposition.add(Self.listenersFamily, labels: "", value: .integer(UInt64(channels.withLock { $0.count })))
        // Task series come last and may not join berth's own families.
        exposition.seal()
        store.write(into: &exposition)
    }

    /// One datagram from a task: lines split on newlines; each parsed, kept and forwarded.
    func receive(_ bytes: ByteBufferView, taskID: String, identity: [(String, String)]) {
        var forward: [String] = []
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            var text = String(decoding: line, as: UTF8.self)
            if text.hasSuffix("\r") { text.removeLast() }
            if text.isEmpty { continue }
            guard let parsed = StatsDLine.parse(text[...]) else {
                store.malformed.add(1, ordering: .relaxed)
                continue
            }
            store.record(parsed, taskID: taskID)
            if upstream != nil { forward.append(parsed.encoded(identity: identity, tagging: tagging)) }
        }
        guard let upstream, !forward.isEmpty else { return }
        for datagram in StatsDEncoder.pack(forward, mtu: mtu).datagrams { upstream.send(datagram) }
    }
}

private final class RelayHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    let taskID: String
    let identity: [(String, String)]
    let relay: StatsDRelay

    init(taskID: String, identity: [(String, String)], relay: StatsDRelay) {
        self.taskID = taskID
        self.identity = identity
        self.relay = relay
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        relay.receive(envelope.data.readableBytesView, taskID: taskID, identity: identity)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A bad datagram (ICMP errors, truncation) must not close the task's listener.
    }
}
