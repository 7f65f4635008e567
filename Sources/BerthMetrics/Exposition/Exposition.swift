/// The Prometheus text exposition format 0.0.4, written by hand: families keep the order in which
/// they first appear, each gets its HELP and TYPE once and all its samples together, whatever
/// order the collectors add them in.
public struct Exposition: Sendable {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private struct Entry: Sendable {
        var family: Family
        var body: [UInt8] = []
        /// Sealed families belong to berth: task metrics may not add to them.
        var sealed = false
    }

    private var entries: [Entry] = []
    private var index: [String: Int] = [:]

    public init() {}

    /// Adds one sample. `labels` is the inside of the braces, already rendered (see `Labels`);
    /// `suffix` is "_bucket", "_sum" or "_count" for histogram and summary samples. Returns false
    /// (and adds nothing) when the family exists with another type or is sealed against `guest`
    /// samples.
    @discardableResult
    public mutating func add(_ family: Family, labels: String, value: SampleValue, suffix: String = "", guest: Bool = false) -> Bool {
        let position: Int
        if let existing = index[family.name] {
            let entry = entries[existing]
            guard entry.family.type == family.type, !(guest && entry.sealed) else { return false }
            position = existing
        } else {
            position = entries.count
            index[family.name] = position
            entries.append(Entry(family: family))
        }
        entries[position].body.append(contentsOf: family.name.utf8)
        entries[position].body.append(contentsOf: suffix.utf8)
        if !labels.isEmpty {
            entries[position].body.append(UInt8(ascii: "{"))
            entries[position].body.append(contentsOf: labels.utf8)
            entries[position].body.append(UInt8(ascii: "}"))
        }
        entries[position].body.append(UInt8(ascii: " "))
        value.append(to: &entries[position].body)
        entries[position].body.append(UInt8(ascii: "\n"))
        return true
    }

    /// Adds sample lines already written in the format ("name{labels} value\n" each), as the
    /// container writer makes them. False (and nothing added) when the family exists with
    /// another type.
    @discardableResult
    mutating func append(_ family: Family, lines: [UInt8]) -> Bool {
        if let existing = index[family.name] {
            guard entries[existing].family.type == family.type else { return false }
            entries[existing].body.append(contentsOf: lines)
        } else {
            index[family.name] = entries.count
            entries.append(Entry(family: family, body: lines))
        }
        return true
    }

    /// True when a family of this name is present (with any type).
    public func contains(_ name: String) -> Bool { index[name] != nil }

    /// Marks every family present as berth's own: later `guest` samples cannot join them.
    public mutating func seal() {
        for i in entries.indices { entries[i].sealed = true }
    }

    public var isEmpty: Bool { entries.isEmpty }

    public func render() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(entries.reduce(0) { $0 + $1.body.count + 96 })
        for entry in entries where !entry.body.isEmpty {
            out.append(contentsOf: "# HELP \(entry.family.name) ".utf8)
            out.append(contentsOf: Labels.escapeHelp(entry.family.help).utf8)
            out.append(contentsOf: "\n# TYPE \(entry.family.name) \(entry.family.type.rawValue)\n".utf8)
            out.append(contentsOf: entry.body)
        }
        return out
    }
}

public enum MetricType: String, Sendable, Equatable {
    case counter, gauge, histogram, summary, untyped
}

/// A metric family: what HELP and TYPE say.
public struct Family: Sendable, Equatable {
    public var name: String
    public var type: MetricType
    public var help: String

    public init(_ name: String, _ type: MetricType, _ help: String) {
        self.name = name
        self.type = type
        self.help = help
    }
}

/// A sample's value: counters from the kernel stay exact integers, the rest are doubles.
public enum SampleValue: Sendable, Equatable {
    case integer(UInt64)
    case real(Double)

    public var double: Double {
        switch self {
        case .integer(let value): return Double(value)
        case .real(let value): return value
        }
    }

    /// Go's ParseFloat reads every form written here: "12", "0.25", "1e-05", "+Inf", "NaN".
    public var text: String {
        switch self {
        case .integer(let value): return String(value)
        case .real(let value):
            if value.isNaN { return "NaN" }
            if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
            if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
            return value.description
        }
    }

    func append(to bytes: inout [UInt8]) {
        bytes.append(contentsOf: text.utf8)
    }
}
