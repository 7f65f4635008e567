import BerthCgroups
#if canImport(Glibc)
import Glibc
#endif

/// One container whose statistics a scrape shows. berthd builds the list from its tasks at
/// scrape time; nothing polls a container between scrapes.
public struct MetricTarget: Sendable {
    public var taskID: String
    public var containerID: String
    /// The image reference; empty for a plain-binary task.
    public var image: String
    /// The task's labels, shown as `label_<name>` (sanitised, lower case).
    public var labels: [String: String]
    public var cgroup: Cgroup
    /// The container's first process: its network namespace gives the network counters.
    public var initPID: pid_t?
    /// Seconds since the epoch; nil reads it from the init process's start time.
    public var startTime: Double?
    /// The port of the task's own Prometheus endpoint, when berthd knows it from the task's port
    /// mappings; otherwise the BERTH_METRICS_PORT or DCOS_METRICS_PORT label names it.
    public var metricsPort: Int?

    public init(
        taskID: String, containerID: String, image: String = "", labels: [String: String] = [:],
        cgroup: Cgroup, initPID: pid_t? = nil, startTime: Double? = nil, metricsPort: Int? = nil
    ) {
        self.taskID = taskID
        self.containerID = containerID
        self.image = image
        self.labels = labels
        self.cgroup = cgroup
        self.initPID = initPID
        self.startTime = startTime
        self.metricsPort = metricsPort
    }

    /// Where to scrape the task's own metrics: its labels say DCOS_METRICS_FORMAT=prometheus (or
    /// BERTH_METRICS_FORMAT=prometheus) and a port is known. Path from BERTH_METRICS_PATH.
    public var prometheusEndpoint: (port: Int, path: String)? {
        let format = labels["BERTH_METRICS_FORMAT"] ?? labels["DCOS_METRICS_FORMAT"]
        guard format?.lowercased() == "prometheus" else { return nil }
        let port = metricsPort ?? (labels["BERTH_METRICS_PORT"] ?? labels["DCOS_METRICS_PORT"]).flatMap { Int($0) }
        guard let port, (1...65535).contains(port) else { return nil }
        var path = labels["BERTH_METRICS_PATH"] ?? "/metrics"
        if !path.hasPrefix("/") || path.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" }) { path = "/metrics" }
        return (port, path)
    }
}

/// A target's identity as labels, rendered once per scrape.
struct TargetIdentity: Sendable {
    /// What the labels are made from: the same source renders the same labels.
    struct Source: Equatable {
        var taskID: String, containerID: String, image: String, labels: [String: String], prefix: String

        init(_ target: MetricTarget, labelPrefix: String) {
            taskID = target.taskID
            containerID = target.containerID
            image = target.image
            labels = target.labels
            prefix = labelPrefix
        }
    }

    let taskID: String
    let containerID: String
    let image: String
    /// `task_id="..",container_id="..",image="..",label_x=".."`.
    let rendered: String

    init(_ target: MetricTarget, labelPrefix: String) {
        taskID = target.taskID
        containerID = target.containerID
        image = target.image
        rendered = Labels.render(Self.pairs(target, labelPrefix: labelPrefix))
    }

    /// The identity pairs: task labels sorted by sanitised name; a label whose sanitised name
    /// collides with another's is left out (the first by original name stays).
    static func pairs(_ target: MetricTarget, labelPrefix: String) -> [(String, String)] {
        let pairs: [(String, String)] = [("task_id", target.taskID), ("container_id", target.containerID), ("image", target.image)]
        var used: Set<String> = ["task_id", "container_id", "image"]
        var labels: [(String, String)] = []
        for key in target.labels.keys.sorted() {
            let name = Labels.sanitizeName(labelPrefix + key)
            guard used.insert(name).inserted else { continue }
            labels.append((name, target.labels[key]!))
        }
        return pairs + labels.sorted { $0.0 < $1.0 }
    }
}
