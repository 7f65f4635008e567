/// A set of integers kept as sorted, disjoint, non-adjacent closed intervals (ports).
/// Adding merges neighbours (31000-31004 + 31005-31009 = 31000-31009); subtracting splits.
public struct RangeList: Sendable, Equatable, Hashable, CustomStringConvertible {
    public private(set) var intervals: [ClosedRange<Int>]

    public init() { intervals = [] }

    /// Sorts and merges: O(n log n), so a hostile list of many ranges costs little.
    public init(_ intervals: [ClosedRange<Int>]) {
        self.intervals = Self.coalesce(intervals.sorted { $0.lowerBound < $1.lowerBound })
    }

    /// Merges overlapping or touching neighbours of a list sorted by lower bound.
    private static func coalesce(_ sorted: [ClosedRange<Int>]) -> [ClosedRange<Int>] {
        var result: [ClosedRange<Int>] = []
        result.reserveCapacity(sorted.count)
        for interval in sorted {
            if let last = result.last, interval.lowerBound <= last.upperBound || interval.lowerBound == last.upperBound + 1 {
                result[result.count - 1] = last.lowerBound...max(last.upperBound, interval.upperBound)
            } else {
                result.append(interval)
            }
        }
        return result
    }

    public var isEmpty: Bool { intervals.isEmpty }

    /// How many integers it holds.
    public var count: Int { intervals.reduce(0) { $0 + $1.count } }

    public func contains(_ value: Int) -> Bool {
        // Binary search: port lists can hold many intervals after churn.
        var low = 0, high = intervals.count - 1
        while low <= high {
            let mid = (low + high) / 2
            if intervals[mid].upperBound < value { low = mid + 1 }
            else if intervals[mid].lowerBound > value { high = mid - 1 }
            else { return true }
        }
        return false
    }

    public func contains(_ other: RangeList) -> Bool {
        var i = 0
        for needed in other.intervals {
            while i < intervals.count && intervals[i].upperBound < needed.lowerBound { i += 1 }
            guard i < intervals.count, intervals[i].lowerBound <= needed.lowerBound,
                  intervals[i].upperBound >= needed.upperBound else { return false }
        }
        return true
    }

    public func overlaps(_ other: RangeList) -> Bool {
        var i = 0, j = 0
        while i < intervals.count && j < other.intervals.count {
            if intervals[i].overlaps(other.intervals[j]) { return true }
            if intervals[i].upperBound < other.intervals[j].upperBound { i += 1 } else { j += 1 }
        }
        return false
    }

    public mutating func formUnion(_ interval: ClosedRange<Int>) {
        var lower = interval.lowerBound, upper = interval.upperBound
        var result: [ClosedRange<Int>] = []
        result.reserveCapacity(intervals.count + 1)
        var placed = false
        for existing in intervals {
            // Touching intervals merge too (their ends are adjacent integers).
            if existing.upperBound < lower && existing.upperBound != lower - 1 {
                result.append(existing)
            } else if existing.lowerBound > upper && existing.lowerBound != upper + 1 {
                if !placed { result.append(lower...upper); placed = true }
                result.append(existing)
            } else {
                lower = min(lower, existing.lowerBound)
                upper = max(upper, existing.upperBound)
            }
        }
        if !placed { result.append(lower...upper) }
        intervals = result
    }

    /// Linear merge of the two sorted lists.
    public mutating func formUnion(_ other: RangeList) {
        if other.isEmpty { return }
        var merged: [ClosedRange<Int>] = []
        merged.reserveCapacity(intervals.count + other.intervals.count)
        var i = 0, j = 0
        while i < intervals.count || j < other.intervals.count {
            if j == other.intervals.count || (i < intervals.count && intervals[i].lowerBound <= other.intervals[j].lowerBound) {
                merged.append(intervals[i]); i += 1
            } else {
                merged.append(other.intervals[j]); j += 1
            }
        }
        intervals = Self.coalesce(merged)
    }

    /// Removes what `other` holds; values not present are ignored.
    public mutating func subtract(_ other: RangeList) {
        var result: [ClosedRange<Int>] = []
        var j = 0
        for var current in intervals.map({ Optional($0) }) {
            while let piece = current {
                while j < other.intervals.count && other.intervals[j].upperBound < piece.lowerBound { j += 1 }
                guard j < other.intervals.count, other.intervals[j].lowerBound <= piece.upperBound else {
                    result.append(piece)
                    current = nil
                    break
                }
                let cut = other.intervals[j]
                if cut.lowerBound > piece.lowerBound { result.append(piece.lowerBound...(cut.lowerBound - 1)) }
                current = cut.upperBound < piece.upperBound ? (cut.upperBound + 1)...piece.upperBound : nil
            }
        }
        intervals = result
    }

    public func subtracting(_ other: RangeList) -> RangeList {
        var copy = self
        copy.subtract(other)
        return copy
    }

    public func intersection(_ other: RangeList) -> RangeList {
        var result: [ClosedRange<Int>] = []
        var i = 0, j = 0
        while i < intervals.count && j < other.intervals.count {
            let a = intervals[i], b = other.intervals[j]
            let lower = max(a.lowerBound, b.lowerBound), upper = min(a.upperBound, b.upperBound)
            if lower <= upper { result.append(lower...upper) }
            if a.upperBound < b.upperBound { i += 1 } else { j += 1 }
        }
        var list = RangeList()
        list.intervals = result
        return list
    }

    /// The lowest `n` values, or nil if it holds fewer.
    public func lowest(_ n: Int) -> [Int]? {
        var picked: [Int] = []
        picked.reserveCapacity(n)
        for interval in intervals {
            for value in interval {
                if picked.count == n { return picked }
                picked.append(value)
            }
        }
        return picked.count == n ? picked : nil
    }

    /// "[31000-31004, 31010-31010]".
    public var description: String {
        "[" + intervals.map { "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ", ") + "]"
    }
}
