import BerthMetrics
import Synchronization

/// What tasks sent to their StatsD listeners, kept so /metrics shows the latest values: counters
/// summed, gauges as last set, timers, histograms and distributions as a summary's sum and count
/// (sets are forwarded only). Bounded: past `seriesLimit` series a task's new series are dropped.
final class RelayStore: Sendable {
    private struct Series: Sendable {
        var family: Family
        var labels: String
        var value: Double = 0
        var count: UInt64 = 0
    }

    private struct TaskSeries: Sendable {
        var identity: [(String, String)]
        var order: [String] = []
        var series: [String: Series] = [:]
    }

    private let tasks = Mutex<[String: TaskSeries]>([:])
    let seriesLimit: Int
    let malformed = Atomic<UInt64>(0)
    let relayed = Atomic<UInt64>(0)
    let droppedSeries = Atomic<UInt64>(0)

    init(seriesLimit: Int) { self.seriesLimit = seriesLimit }

    func register(taskID: String, identity: [(String, String)]) {
        tasks.withLock { $0[taskID] = TaskSeries(identity: identity) }
    }

    func unregister(taskID: String) {
        _ = tasks.withLock { $0.removeValue(forKey: taskID) }
    }

    func record(_ line: StatsDLine, taskID: String) {
        relayed.add(1, ordering: .relaxed)
        guard line.kind != .set, let number = Double(line.value) else { return }
        let (family, tagLabels) = Self.family(of: line)
        tasks.withLock { tasks in
            guard var task = tasks[taskID] else { return }
            let labels = Labels.join(Labels.render(task.identity), tagLabels)
            let key = family.name + "{" + labels + "}"
            var series: Series
            if let existing = task.series[key] {
                series = existing
            } else {
                guard task.series.count < seriesLimit else {
                    droppedSeries.add(1, ordering: .relaxed)
                    return
                }
                series = Series(family: family, labels: labels)
                task.order.append(key)
            }
            switch line.kind {
            case .counter: series.value += number / (line.sampleRate ?? 1)
            case .gauge:
                let relative = line.value.first == "+" || line.value.first == "-"
                series.value = relative ? series.value + number : number
            default:
                series.value += number
                series.count += UInt64((1 / (line.sampleRate ?? 1)).rounded())
            }
            task.series[key] = series
            tasks[taskID] = task
        }
    }

    func write(into exposition: inout Exposition) {
        let all = tasks.withLock { tasks in tasks.keys.sorted().flatMap { id in tasks[id]!.order.map { tasks[id]!.series[$0]! } } }
        for series in all {
            if series.family.type == .summary {
                exposition.add(series.family, labels: series.labels, value: .real(series.value), suffix: "_sum", guest: true)
                exposition.add(series.family, labels: series.labels, value: .integer(series.count), suffix: "_count", guest: true)
            } else {
                exposition.add(series.family, labels: series.labels, value: .real(series.value), guest: true)
            }
        }
    }

    /// A relayed line's family (a lint-clean Prometheus name: lower snake case, counters end
    /// in _total, nothing else does, and no other type ends in a histogram's reserved suffixes)
    /// and its tags as labels.
    static func family(of line: StatsDLine) -> (Family, String) {
        var name = Labels.sanitizeName(line.name)
        let help = "StatsD \(line.kind) relayed from tasks."
        let family: Family
        switch line.kind {
        case .counter:
            if !name.hasSuffix("_total") { name += "_total" }
            family = Family(name, .counter, help)
        case .gauge:
            if ["_total", "_count", "_sum", "_bucket"].contains(where: name.hasSuffix) { name += "_value" }
            family = Family(name, .gauge, help)
        default:
            if ["_total", "_count", "_sum", "_bucket"].contains(where: name.hasSuffix) { name += "_value" }
            family = Family(name, .summary, help)
        }
        var pairs: [(String, String)] = []
        var used: Set<String> = ["task_id", "container_id", "image", "quantile"]
        for tag in line.tags {
            let parts = tag.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            var key = Labels.sanitizeName(String(parts[0]))
            if used.contains(key) { key = "exported_" + key }
            guard used.insert(key).inserted else { continue }
            pairs.append((key, String(parts[1])))
        }
        return (family, Labels.render(pairs))
    }
}

extension StatsDLine.Kind: CustomStringConvertible {
    public var description: String {
        switch self {
        case .counter: "counter"
        case .gauge: "gauge"
        case .timer: "timer"
        case .histogram: "histogram"
        case .distribution: "distribution"
        case .set: "set"
        }
    }
}
