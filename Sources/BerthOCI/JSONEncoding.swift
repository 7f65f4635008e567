/// An `Encoder` that builds a `JSONValue`, the writing half beside `ValueDecoder`. It replaced
/// Foundation's JSONEncoder, whose output was parsed again for our writer's layout, and which
/// tries every value against Date, [UInt8], URL and Decimal with dynamic casts: together a third of
/// the instructions of a `berth run`.
struct ValueEncoder: Encoder {
    let node: EncodingNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    static func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        let root = EncodingNode()
        try value.encode(to: ValueEncoder(node: root, codingPath: []))
        return root.resolved()
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if node.members == nil { node.members = [:] }
        return KeyedEncodingContainer(KeyedWriter<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if node.items == nil { node.items = [] }
        return UnkeyedWriter(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleWriter(node: node, codingPath: codingPath)
    }
}

/// One value being built. A class, because containers hand out children that are filled later.
final class EncodingNode {
    var scalar: JSONValue?
    var members: [String: EncodingNode]?
    var items: [EncodingNode]?

    func resolved() -> JSONValue {
        if let members { return .object(members.mapValues { $0.resolved() }) }
        if let items { return .array(items.map { $0.resolved() }) }
        // A value whose encode(to:) wrote nothing reads as an empty object, as in Foundation.
        return scalar ?? .object([:])
    }
}

/// Numbers as JSON text: integral doubles print without a fraction, as Foundation's did.
enum JSONNumber {
    static func text<T: BinaryFloatingPoint & LosslessStringConvertible>(_ value: T, _ path: [any CodingKey]) throws -> JSONValue {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: path, debugDescription: "\(value) is not a JSON number"))
        }
        if value == value.rounded(), abs(value) < 9_007_199_254_740_992 {
            return .number(String(Int64(value)))
        }
        return .number(String(value))
    }
}

private struct SingleWriter: SingleValueEncodingContainer {
    let node: EncodingNode
    let codingPath: [any CodingKey]

    func encodeNil() { node.scalar = .null }
    func encode(_ value: Bool) { node.scalar = .bool(value) }
    func encode(_ value: String) { node.scalar = .string(value) }
    func encode(_ value: Double) throws { node.scalar = try JSONNumber.text(value, codingPath) }
    func encode(_ value: Float) throws { node.scalar = try JSONNumber.text(value, codingPath) }
    func encode(_ value: Int) { node.scalar = .number(String(value)) }
    func encode(_ value: Int8) { node.scalar = .number(String(value)) }
    func encode(_ value: Int16) { node.scalar = .number(String(value)) }
    func encode(_ value: Int32) { node.scalar = .number(String(value)) }
    func encode(_ value: Int64) { node.scalar = .number(String(value)) }
    func encode(_ value: UInt) { node.scalar = .number(String(value)) }
    func encode(_ value: UInt8) { node.scalar = .number(String(value)) }
    func encode(_ value: UInt16) { node.scalar = .number(String(value)) }
    func encode(_ value: UInt32) { node.scalar = .number(String(value)) }
    func encode(_ value: UInt64) { node.scalar = .number(String(value)) }
    func encode<T: Encodable>(_ value: T) throws {
        try value.encode(to: ValueEncoder(node: node, codingPath: codingPath))
    }
}

private struct KeyedWriter<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodingNode
    let codingPath: [any CodingKey]

    private func child(_ key: Key) -> EncodingNode {
        let child = EncodingNode()
        node.members?[key.stringValue] = child
        return child
    }

    private func set(_ value: JSONValue, _ key: Key) { child(key).scalar = value }

    func encodeNil(forKey key: Key) { set(.null, key) }
    func encode(_ value: Bool, forKey key: Key) { set(.bool(value), key) }
    func encode(_ value: String, forKey key: Key) { set(.string(value), key) }
    func encode(_ value: Double, forKey key: Key) throws { set(try JSONNumber.text(value, codingPath + [key]), key) }
    func encode(_ value: Float, forKey key: Key) throws { set(try JSONNumber.text(value, codingPath + [key]), key) }
    func encode(_ value: Int, forKey key: Key) { set(.number(String(value)), key) }
    func encode(_ value: Int8, forKey key: Key) { set(.number(String(value)), key) }
    func encode(_ value: Int16, forKey key: Key) { set(.number(String(value)), key) }
    func encode(_ value: Int32, forKey key: Key) { set(.number(String(value)), key) }
    func encode(_ value: Int64, forKey key: Key) { set(.number(String(value)), key) }
    func encode(_ value: UInt, forKey key: Key) { set(.number(String(value)), key) }
    func encode(_ value: UInt8, forKey key: Key) { set(.number(String(value)), key) }
    func encode(_ value: UInt16, forKey key: Key) { set(.number(String(value)), key) }
    func encode(_ value: UInt32, forKey key: Key) { set(.number(String(value)), key) }
    func encode(_ value: UInt64, forKey key: Key) { set(.number(String(value)), key) }
    func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try value.encode(to: ValueEncoder(node: child(key), codingPath: codingPath + [key]))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        ValueEncoder(node: child(key), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        ValueEncoder(node: child(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superEncoder() -> any Encoder {
        let child = EncodingNode()
        node.members?["super"] = child
        return ValueEncoder(node: child, codingPath: codingPath + [PathKey(stringValue: "super")])
    }

    func superEncoder(forKey key: Key) -> any Encoder {
        ValueEncoder(node: child(key), codingPath: codingPath + [key])
    }
}

private struct UnkeyedWriter: UnkeyedEncodingContainer {
    let node: EncodingNode
    let codingPath: [any CodingKey]
    var count: Int { node.items?.count ?? 0 }

    private func next() -> EncodingNode {
        let child = EncodingNode()
        node.items?.append(child)
        return child
    }

    private var nextPath: [any CodingKey] { codingPath + [PathKey(intValue: count)] }

    func encodeNil() { next().scalar = .null }
    func encode(_ value: Bool) { next().scalar = .bool(value) }
    func encode(_ value: String) { next().scalar = .string(value) }
    func encode(_ value: Double) throws { let number = try JSONNumber.text(value, nextPath); next().scalar = number }
    func encode(_ value: Float) throws { let number = try JSONNumber.text(value, nextPath); next().scalar = number }
    func encode(_ value: Int) { next().scalar = .number(String(value)) }
    func encode(_ value: Int8) { next().scalar = .number(String(value)) }
    func encode(_ value: Int16) { next().scalar = .number(String(value)) }
    func encode(_ value: Int32) { next().scalar = .number(String(value)) }
    func encode(_ value: Int64) { next().scalar = .number(String(value)) }
    func encode(_ value: UInt) { next().scalar = .number(String(value)) }
    func encode(_ value: UInt8) { next().scalar = .number(String(value)) }
    func encode(_ value: UInt16) { next().scalar = .number(String(value)) }
    func encode(_ value: UInt32) { next().scalar = .number(String(value)) }
    func encode(_ value: UInt64) { next().scalar = .number(String(value)) }
    func encode<T: Encodable>(_ value: T) throws {
        let path = nextPath
        try value.encode(to: ValueEncoder(node: next(), codingPath: path))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = nextPath
        return ValueEncoder(node: next(), codingPath: path).container(keyedBy: keyType)
    }

    func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = nextPath
        return ValueEncoder(node: next(), codingPath: path).unkeyedContainer()
    }

    func superEncoder() -> any Encoder {
        let path = nextPath
        return ValueEncoder(node: next(), codingPath: path)
    }
}
