import BerthAPI

/// Resources as a value: scalars (cpus, mem, disk, gpus), ranges (ports) and sets, each under a
/// role ("*" is unreserved). Add, subtract and compare with exact semantics: scalars are
/// fixed-point with 3 decimals (as Mesos does, so 0.1 + 0.2 == 0.3), ranges merge and split.
/// A resource is identified by name, role and type; nothing is ever negative or empty-valued.
public struct ResourceSet: Sendable, Equatable, CustomStringConvertible {
    public struct Key: Hashable, Sendable, Comparable {
        public var name: String
        public var role: String
        public var type: ResourceType

        public init(name: String, role: String = "*", type: ResourceType) {
            self.name = name
            self.role = role
            self.type = type
        }

        public static func < (a: Key, b: Key) -> Bool {
            (a.name, a.role, a.type.rawValue) < (b.name, b.role, b.type.rawValue)
        }
    }

    public enum Value: Sendable, Equatable {
        /// Thousandths.
        case scalar(Int64)
        case ranges(RangeList)
        case set(Set<String>)

        var isEmpty: Bool {
            switch self {
            case .scalar(let milli): return milli <= 0
            case .ranges(let list): return list.isEmpty
            case .set(let items): return items.isEmpty
            }
        }
    }

    public private(set) var entries: [Key: Value] = [:]

    public init() {}

    public var isEmpty: Bool { entries.isEmpty }

    // MARK: building

    /// A scalar rounded to 3 decimals.
    public static func scalar(_ name: String, _ value: Double, role: String = "*") -> ResourceSet {
        var set = ResourceSet()
        set.add(Key(name: name, role: role, type: .scalar), .scalar(Fixed.milli(value)))
        return set
    }

    public static func ranges(_ name: String, _ list: RangeList, role: String = "*") -> ResourceSet {
        var set = ResourceSet()
        set.add(Key(name: name, role: role, type: .ranges), .ranges(list))
        return set
    }

    public static func set(_ name: String, _ items: Set<String>, role: String = "*") -> ResourceSet {
        var set = ResourceSet()
        set.add(Key(name: name, role: role, type: .set), .set(items))
        return set
    }

    /// Adds one entry (values of the same key combine).
    public mutating func add(_ key: Key, _ value: Value) {
        if value.isEmpty { return }
        guard let existing = entries[key] else {
            entries[key] = value
            return
        }
        switch (existing, value) {
        case (.scalar(let a), .scalar(let b)): entries[key] = .scalar(Fixed.add(a, b))
        case (.ranges(var a), .ranges(let b)): a.formUnion(b); entries[key] = .ranges(a)
        case (.set(let a), .set(let b)): entries[key] = .set(a.union(b))
        default: break  // the type is part of the key: cannot differ
        }
    }

    public mutating func add(_ other: ResourceSet) {
        for (key, value) in other.entries { add(key, value) }
    }

    public static func + (a: ResourceSet, b: ResourceSet) -> ResourceSet {
        var sum = a
        sum.add(b)
        return sum
    }

    // MARK: comparing

    /// True when every resource of `other` is here, in full, under the same role.
    public func contains(_ other: ResourceSet) -> Bool {
        shortage(of: other) == nil
    }

    /// The first resource of `needed` (in name order) that this set does not hold in full.
    public func shortage(of needed: ResourceSet) -> Shortage? {
        for key in needed.entries.keys.sorted() {
            let want = needed.entries[key]!
            let have = entries[key]
            switch (want, have) {
            case (.scalar(let w), .scalar(let h)) where h >= w: continue
            case (.ranges(let w), .ranges(let h)) where h.contains(w): continue
            case (.set(let w), .set(let h)) where w.isSubset(of: h): continue
            default: return Shortage(key: key, needed: want, available: have)
            }
        }
        return nil
    }

    /// True when some resource is in both (a positive scalar under the same key counts).
    public func overlaps(_ other: ResourceSet) -> Bool {
        for (key, value) in other.entries {
            switch (value, entries[key]) {
            case (.scalar, .scalar): return true
            case (.ranges(let a), .ranges(let b)) where a.overlaps(b): return true
            case (.set(let a), .set(let b)) where !a.isDisjoint(with: b): return true
            default: continue
            }
        }
        return false
    }

    // MARK: subtracting

    /// Removes `other`, which must be contained; otherwise nothing changes and the shortage is thrown.
    public mutating func subtract(_ other: ResourceSet) throws(Shortage) {
        if let shortage = shortage(of: other) { throw shortage }
        subtractSaturating(other)
    }

    /// Removes what it can of `other`: scalars stop at 0, absent values are ignored.
    public mutating func subtractSaturating(_ other: ResourceSet) {
        for (key, value) in other.entries {
            guard let existing = entries[key] else { continue }
            var result: Value
            switch (existing, value) {
            case (.scalar(let a), .scalar(let b)): result = .scalar(max(0, a - b))
            case (.ranges(let a), .ranges(let b)): result = .ranges(a.subtracting(b))
            case (.set(let a), .set(let b)): result = .set(a.subtracting(b))
            default: result = existing
            }
            entries[key] = result.isEmpty ? nil : result
        }
    }

    /// `a - b`, saturating (see `subtractSaturating`).
    public static func - (a: ResourceSet, b: ResourceSet) -> ResourceSet {
        var difference = a
        difference.subtractSaturating(b)
        return difference
    }

    // MARK: reading

    /// The scalar's value (3 decimals) under `role`, or summed over all roles when `role` is nil.
    public func scalar(_ name: String, role: String? = nil) -> Double {
        Fixed.double(milli(name, role: role))
    }

    /// Thousandths, exact.
    public func milli(_ name: String, role: String? = nil) -> Int64 {
        var total: Int64 = 0
        for (key, value) in entries where key.name == name && (role == nil || key.role == role) {
            if case .scalar(let m) = value { total = Fixed.add(total, m) }
        }
        return total
    }

    /// The ranges under `role`, or merged over all roles when `role` is nil.
    public func ranges(_ name: String, role: String? = nil) -> RangeList {
        var list = RangeList()
        for (key, value) in entries where key.name == name && (role == nil || key.role == role) {
            if case .ranges(let r) = value { list.formUnion(r) }
        }
        return list
    }

    public func set(_ name: String, role: String? = nil) -> Set<String> {
        var items: Set<String> = []
        for (key, value) in entries where key.name == name && (role == nil || key.role == role) {
            if case .set(let s) = value { items.formUnion(s) }
        }
        return items
    }

    /// Roles present, sorted ("*" first as it sorts first).
    public var roles: [String] { Set(entries.keys.map(\.role)).sorted() }

    /// Only the resources of `role`.
    public func filter(role: String) -> ResourceSet {
        filter { $0.role == role }
    }

    /// What a task or scheduler of `role` may use: unreserved resources plus those reserved for it.
    public func usable(by role: String) -> ResourceSet {
        filter { $0.role == "*" || $0.role == role }
    }

    public var unreserved: ResourceSet { filter(role: "*") }

    public func filter(_ include: (Key) -> Bool) -> ResourceSet {
        var result = ResourceSet()
        for (key, value) in entries where include(key) { result.entries[key] = value }
        return result
    }

    /// The same resources under one role ("*": as if unreserved).
    public func withRole(_ role: String) -> ResourceSet {
        var result = ResourceSet()
        for (key, value) in entries {
            result.add(Key(name: key.name, role: role, type: key.type), value)
        }
        return result
    }

    // MARK: describing

    /// "cpus 2, mem 1024, ports [31000-32000], gpus(web) 1": sorted, roles other than "*" shown.
    public var description: String {
        if entries.isEmpty { return "nothing" }
        return entries.keys.sorted().map { key in
            Self.describe(key, entries[key]!)
        }.joined(separator: ", ")
    }

    static func describe(_ key: Key, _ value: Value?) -> String {
        let name = key.role == "*" ? key.name : "\(key.name)(\(key.role))"
        return name + " " + describe(value, type: key.type)
    }

    static func describe(_ value: Value?, type: ResourceType) -> String {
        switch value {
        case .scalar(let m): return Fixed.format(m)
        case .ranges(let list): return list.description
        case .set(let items): return "{" + items.sorted().joined(separator: ", ") + "}"
        case nil:
            switch type {
            case .scalar: return "0"
            case .ranges: return "[]"
            case .set: return "{}"
            }
        }
    }
}

extension ResourceSet {
    /// What is missing: `needs cpus 2 but 1.5 are offered`.
    public struct Shortage: Error, Sendable, Equatable, CustomStringConvertible {
        public var key: Key
        public var needed: Value
        public var available: Value?

        /// The sentence, with `word` saying where the resources were looked for
        /// ("offered", "free", "available").
        public func message(_ word: String = "available") -> String {
            let name = key.role == "*" ? key.name : "\(key.name) reserved for role \(key.role)"
            switch (needed, available) {
            case (.ranges(let want), .ranges(let have)):
                let missing = want.subtracting(have)
                return "needs \(name) \(want) but \(missing) \(missing.count == 1 ? "is" : "are") not \(word)"
            case (.set(let want), .set(let have)):
                let missing = want.subtracting(have).sorted()
                return "needs \(name) {\(missing.joined(separator: ", "))} but \(missing.count == 1 ? "it is" : "they are") not \(word)"
            default:
                let have = ResourceSet.describe(available, type: key.type)
                return "needs \(name) \(ResourceSet.describe(needed, type: key.type)) but \(have) \(have == "1" ? "is" : "are") \(word)"
            }
        }

        public var description: String { message() }
    }
}

/// Fixed-point scalars: thousandths in an Int64.
public enum Fixed {
    public static func milli(_ value: Double) -> Int64 {
        guard value.isFinite else { return 0 }
        let scaled = (value * 1000).rounded()
        return scaled >= Double(ceiling) ? ceiling : (scaled <= -Double(ceiling) ? -ceiling : Int64(scaled))
    }

    public static func double(_ milli: Int64) -> Double { Double(milli) / 1000 }

    /// Largest value kept: sums of hostile requests stop here instead of overflowing.
    static let ceiling = Int64.max / 4

    /// Saturating sum.
    public static func add(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow || sum > ceiling ? ceiling : sum
    }

    /// "2", "1.5", "0.001".
    public static func format(_ milli: Int64) -> String {
        let sign = milli < 0 ? "-" : ""
        let magnitude = milli.magnitude
        let whole = magnitude / 1000, fraction = magnitude % 1000
        if fraction == 0 { return sign + String(whole) }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return sign + String(whole) + "." + digits
    }
}
