/// berthd's own berth_* series. berthd calls these as things happen (launches, failures,
/// recovery) or just before a scrape (resources, tasks by state); a scrape writes them out.
public final class AgentMetrics: Sendable {
    static let resourcesTotal = Family("berth_resources_capacity", .gauge, "Resources of the node that berthd manages, by resource (cpus, mem in MiB, disk in MiB, gpus, ports).")
    static let resourcesUsed = Family("berth_resources_used", .gauge, "Resources held by running or starting tasks, by resource.")
    static let resourcesOffered = Family("berth_resources_offered", .gauge, "Resources in outstanding offers, by resource.")
    static let tasks = Family("berth_tasks", .gauge, "Tasks known to berthd, by state.")
    static let launches = Family("berth_task_launches_total", .counter, "Task launches berthd attempted.")
    static let failures = Family("berth_task_launch_failures_total", .counter, "Task launches that failed, by reason.")
    static let latency = Family("berth_task_launch_duration_seconds", .histogram, "Time from an accepted launch to the task running, in seconds.")
    static let recovery = Family("berth_recovery_duration_seconds", .gauge, "Time berthd's last start-up recovery took, in seconds.")
    static let scrapeDuration = Family("berth_metrics_scrape_duration_seconds", .gauge, "Time the previous /metrics scrape took, in seconds.")

    /// Launch latency buckets, in seconds: 5 ms to a minute.
    public static let latencyBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    public let registry = MetricRegistry()

    public init() {
        registry.declare(Self.launches)
        registry.declare(Self.latency, buckets: Self.latencyBuckets)
    }

    /// Resources by name ("cpus", "mem", "disk", "gpus", ...). Replaces what was set before.
    public func setResources(total: [String: Double], used: [String: Double], offered: [String: Double]) {
        for (family, values) in [(Self.resourcesTotal, total), (Self.resourcesUsed, used), (Self.resourcesOffered, offered)] {
            registry.removeAll(family)
            for name in values.keys.sorted() { registry.set(family, labels: [("resource", name)], to: values[name]!) }
        }
    }

    /// Task counts by state ("staging", "running", "finished", ...). Replaces what was set before.
    public func setTasks(byState counts: [String: Int]) {
        registry.removeAll(Self.tasks)
        for state in counts.keys.sorted() { registry.set(Self.tasks, labels: [("state", state)], to: Double(counts[state]!)) }
    }

    public func launchStarted() { registry.increment(Self.launches) }

    /// A failed launch; `reason` is a short word ("image", "resources", "runtime"), not a message.
    public func launchFailed(reason: String) {
        registry.increment(Self.failures, labels: [("reason", reason)])
    }

    public func launchSucceeded(after seconds: Double) {
        registry.observe(Self.latency, seconds, buckets: Self.latencyBuckets)
    }

    public func recovered(in seconds: Double) { registry.set(Self.recovery, to: seconds) }

    func scraped(in seconds: Double) { registry.set(Self.scrapeDuration, to: seconds) }

    public func write(into exposition: inout Exposition) { registry.write(into: &exposition) }
}
