/// Reading a parsed document straight into its values, without Codable. In a process that
/// starts for every container, Codable's first use of each type is what costs: a keyed
/// container box, its metadata and witness tables for each of config.json's forty types, a
/// third of a millisecond in all. These readers take only what is exactly right (the right
/// kinds, integers written plainly, every required field present); anything else throws
/// `Unreadable`, and the Codable path reads the document instead, with its path-precise errors.
/// So the two can never disagree on a document both accept: a test holds them to that.
protocol TreeReadable {
    init(tree: JSONValue) throws(Unreadable)
}

/// The document is not one the tree readers take; Codable decides (and names the problem).
struct Unreadable: Error {}

/// One object's members, read by name.
struct Fields {
    let members: [String: JSONValue]

    init(_ tree: JSONValue) throws(Unreadable) {
        guard case .object(let members) = tree else { throw Unreadable() }
        self.members = members
    }

    /// Absent or null is nil, as Codable's decodeIfPresent has it.
    func optional<T: TreeReadable>(_ key: String) throws(Unreadable) -> T? {
        guard let value = members[key], value != .null else { return nil }
        return try T(tree: value)
    }

    func required<T: TreeReadable>(_ key: String) throws(Unreadable) -> T {
        guard let value = members[key], value != .null else { throw Unreadable() }
        return try T(tree: value)
    }
}

extension String: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        guard case .string(let value) = tree else { throw Unreadable() }
        self = value
    }
}

extension Bool: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        guard case .bool(let value) = tree else { throw Unreadable() }
        self = value
    }
}

extension Double: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        guard case .number(let raw) = tree, let value = Double(raw) else { throw Unreadable() }
        self = value
    }
}

/// Plainly written integers in range; 1e3, 2.0 and the out-of-range go to Codable.
extension TreeReadable where Self: FixedWidthInteger {
    init(tree: JSONValue) throws(Unreadable) {
        guard case .number(let raw) = tree, let value = Self(raw) else { throw Unreadable() }
        self = value
    }
}

extension Int: TreeReadable {}
extension Int32: TreeReadable {}
extension Int64: TreeReadable {}
extension UInt: TreeReadable {}
extension UInt16: TreeReadable {}
extension UInt32: TreeReadable {}
extension UInt64: TreeReadable {}

extension Array: TreeReadable where Element: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        guard case .array(let items) = tree else { throw Unreadable() }
        var result: [Element] = []
        result.reserveCapacity(items.count)
        for item in items { result.append(try Element(tree: item)) }
        self = result
    }
}

extension Dictionary: TreeReadable where Key == String, Value: TreeReadable {
    init(tree: JSONValue) throws(Unreadable) {
        let fields = try Fields(tree)
        var result: [String: Value] = [:]
        result.reserveCapacity(fields.members.count)
        for (key, value) in fields.members { result[key] = try Value(tree: value) }
        self = result
    }
}
