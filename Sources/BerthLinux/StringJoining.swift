extension Array where Element == String {
    /// `joined(separator:)` as plain code. The stdlib's is generic code that, the first time a
    /// process calls it, has the Swift runtime search every conformance record in the binary
    /// (about 40 µs in `berth`); the lifecycle commands avoid it on their path.
    public func joined(by separator: String) -> String {
        var result = ""
        for (index, part) in enumerated() {
            if index > 0 { result += separator }
            result += part
        }
        return result
    }
}
