import BerthAsync
import BerthLinux
import Synchronization

/// Pushes every container's statistics to a StatsD server at an interval: gauges as `|g`,
/// counters as `|c` with the increase since the previous push (a counter seen for the first
/// time sends nothing, so a restart of berthd never sends a container's whole history as one
/// increment). One loop for all containers; nothing per container.
public final class StatsDEmitter: Sendable {
    public let sender: StatsDSender
    public let tagging: StatsDTagging
    public let mtu: Int
    private let previous = Mutex<[String: SampleValue]>([:])
    private let oversized = Atomic<UInt64>(0)

    public init(sender: StatsDSender, tagging: StatsDTagging = .dogStatsD, mtu: Int = 1432) {
        self.sender = sender
        self.tagging = tagging
        self.mtu = max(mtu, 64)
    }

    /// Reads the targets now and sends one round. Returns the lines sent, for logs and tests.
    @discardableResult
    public func push(_ targets: [MetricTarget]) -> [String] {
        var lines: [String] = []
        var seen: [String: SampleValue] = [:]
        var devices = DeviceNames()
        let last = previous.withLock { $0 }
        let all = KernelFiles.shared.withLock { cache in
            cache.scrape { files in targets.map { ContainerMetrics.samples(of: $0, files: files, devices: &devices) } }
        }
        for (target, samples) in zip(targets, all) {
            guard let samples else { continue }
            let identity = Self.identity(target)
            for sample in samples {
                let key = target.containerID + "\u{0}" + sample.family.name + "\u{0}" + sample.extra.map { $0.1 }.joined(separator: "\u{0}")
                switch sample.family.type {
                case .counter:
                    seen[key] = sample.value
                    guard let before = last[key], let delta = Self.increase(from: before, to: sample.value) else { continue }
                    lines.append(StatsDEncoder.line(name: sample.family.name, value: delta, kind: .counter,
                                                    identity: identity, extra: sample.extra, tagging: tagging))
                default:
                    lines.append(StatsDEncoder.line(name: sample.family.name, value: sample.value, kind: .gauge,
                                                    identity: identity, extra: sample.extra, tagging: tagging))
                }
            }
        }
        // Containers that went away are forgotten.
        previous.withLock { $0 = seen }
        let (datagrams, tooLong) = StatsDEncoder.pack(lines, mtu: mtu)
        oversized.add(UInt64(tooLong), ordering: .relaxed)
        for datagram in datagrams { sender.send(datagram) }
        return lines
    }

    /// Pushes every `interval` until the surrounding task is cancelled. The file reads run on
    /// their own thread so a slow disk never holds a cooperative thread.
    public func run(every interval: Duration = .seconds(10), targets: @escaping @Sendable () async -> [MetricTarget]) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            let list = await targets()
            _ = await runBlocking("statsd push") { [self] in push(list).count }
        }
    }

    /// Lines longer than the MTU, never sent.
    public var oversizedLines: UInt64 { oversized.load(ordering: .relaxed) }

    static func identity(_ target: MetricTarget) -> [(String, String)] {
        var pairs = [("task_id", target.taskID), ("container_id", target.containerID)]
        if !target.image.isEmpty { pairs.append(("image", target.image)) }
        return pairs
    }

    /// A counter's increase; a counter that went backwards was reset and counts from zero.
    static func increase(from before: SampleValue, to now: SampleValue) -> SampleValue? {
        switch (before, now) {
        case (.integer(let a), .integer(let b)): return .integer(b >= a ? b - a : b)
        default:
            let a = before.double, b = now.double
            return .real(b >= a ? b - a : b)
        }
    }
}
