import Synchronization

/// A small registry of counters, gauges and histograms that berthd updates as things happen and
/// a scrape writes out. Series are keyed by family and rendered labels.
public final class MetricRegistry: Sendable {
    private struct Histogram: Sendable {
        var buckets: [Double]
        var counts: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0
    }

    private struct Series: Sendable {
        var family: Family
        var labels: String
        var value: Double = 0
        var histogram: Histogram?
    }

    private struct State: Sendable {
        var order: [String] = []
        var series: [String: Series] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Adds `amount` (never negative) to a counter.
    public func increment(_ family: Family, labels: [(String, String)] = [], by amount: Double = 1) {
        guard amount >= 0, amount.isFinite else { return }
        update(family, labels) { $0.value += amount }
    }

    public func set(_ family: Family, labels: [(String, String)] = [], to value: Double) {
        update(family, labels) { $0.value = value }
    }

    /// Records one observation; `buckets` are the upper bounds, used when the series is new.
    public func observe(_ family: Family, labels: [(String, String)] = [], _ value: Double, buckets: [Double]) {
        guard value.isFinite else { return }
        update(family, labels) { series in
            var histogram = series.histogram ?? Histogram(buckets: buckets.sorted(), counts: Array(repeating: 0, count: buckets.count))
            for (i, bound) in histogram.buckets.enumerated() where value <= bound { histogram.counts[i] += 1 }
            histogram.sum += value
            histogram.count += 1
            series.histogram = histogram
        }
    }

    /// Drops every series of a family whose labels are not in `keep` (tasks that went away).
    public func removeAll(_ family: Family, except keep: Set<String> = []) {
        state.withLock { state in
            for key in state.series.keys where state.series[key]!.family.name == family.name && !keep.contains(state.series[key]!.labels) {
                state.series[key] = nil
            }
            state.order.removeAll { state.series[$0] == nil }
        }
    }

    /// Declares a series at zero: counters and histograms show from the first scrape on.
    public func declare(_ family: Family, labels: [(String, String)] = [], buckets: [Double] = []) {
        update(family, labels) { series in
            if family.type == .histogram && series.histogram == nil {
                series.histogram = Histogram(buckets: buckets.sorted(), counts: Array(repeating: 0, count: buckets.count))
            }
        }
    }

    /// The current value of a counter or gauge (for tests and for berthd's own decisions).
    public func value(_ family: Family, labels: [(String, String)] = []) -> Double? {
        let key = family.name + "{" + Labels.render(labels) + "}"
        return state.withLock { $0.series[key]?.value }
    }

    public func write(into exposition: inout Exposition) {
        let all = state.withLock { state in state.order.compactMap { state.series[$0] } }
        for series in all {
            guard let histogram = series.histogram else {
                exposition.add(series.family, labels: series.labels, value: .real(series.value))
                continue
            }
            for (bound, count) in zip(histogram.buckets, histogram.counts) {
                let le = Labels.join(series.labels, "le=\"\(SampleValue.real(bound).text)\"")
                exposition.add(series.family, labels: le, value: .integer(count), suffix: "_bucket")
            }
            exposition.add(series.family, labels: Labels.join(series.labels, "le=\"+Inf\""), value: .integer(histogram.count), suffix: "_bucket")
            exposition.add(series.family, labels: series.labels, value: .real(histogram.sum), suffix: "_sum")
            exposition.add(series.family, labels: series.labels, value: .integer(histogram.count), suffix: "_count")
        }
    }

    private func update(_ family: Family, _ labels: [(String, String)], _ change: (inout Series) -> Void) {
        let rendered = Labels.render(labels)
        let key = family.name + "{" + rendered + "}"
        state.withLock { state in
            var series = state.series[key] ?? Series(family: family, labels: rendered)
            if state.series[key] == nil { state.order.append(key) }
            change(&series)
            state.series[key] = series
        }
    }
}
