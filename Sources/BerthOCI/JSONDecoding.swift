
/// A decoding failure already phrased for the user; `path` is the location of the bad value.
struct DecodeFailure: Error {
    var path: [any CodingKey]
    var message: String
}

/// A `Decoder` over `JSONValue`. It exists so every error carries the exact JSON path and
/// says what was expected and what was found, including out-of-range numbers.
struct ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    /// API requests are strict (a misspelt field must not be silently dropped); the runtime-spec
    /// requires unknown properties to be ignored, so OCI documents are not.
    var rejectsUnknownKeys = false
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else {
            throw DecodeFailure(path: codingPath, message: "expected an object, found \(value.kindDescription)")
        }
        if rejectsUnknownKeys, let unknown = members.keys.sorted().first(where: { Key(stringValue: $0) == nil }) {
            throw DecodeFailure(path: codingPath + [PathKey(stringValue: unknown)], message: "unknown field")
        }
        return KeyedDecodingContainer(KeyedContainer<Key>(members: members, codingPath: codingPath, strict: rejectsUnknownKeys))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = value else {
            throw DecodeFailure(path: codingPath, message: "expected an array, found \(value.kindDescription)")
        }
        return UnkeyedContainer(items: items, codingPath: codingPath, strict: rejectsUnknownKeys)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleContainer(value: value, codingPath: codingPath, strict: rejectsUnknownKeys)
    }
}

private func mismatch(_ expected: String, _ value: JSONValue, _ path: [any CodingKey]) -> DecodeFailure {
    DecodeFailure(path: path, message: "expected \(expected), found \(value.kindDescription)")
}

private func decodeInteger<T: FixedWidthInteger>(_ type: T.Type, _ value: JSONValue, _ path: [any CodingKey]) throws -> T {
    let expected = T.isSigned ? "an integer" : "an unsigned integer"
    guard case .number(let raw) = value else { throw mismatch(expected, value, path) }
    if let v = T(raw) { return v }
    let isPlainInteger = !raw.contains(where: { $0 == "." || $0 == "e" || $0 == "E" })
    if !isPlainInteger {
        // 1e3 or 2.0 are integers written oddly; accept them only when exact.
        if let d = Double(raw), d.rounded() == d, let v = T(exactly: d) { return v }
        if let d = Double(raw), d.rounded() != d {
            throw DecodeFailure(path: path, message: "expected \(expected), found \(raw)")
        }
    }
    if !T.isSigned && raw.hasPrefix("-") {
        throw DecodeFailure(path: path, message: "expected \(expected), found \(raw)")
    }
    throw DecodeFailure(path: path, message: "\(raw) is out of range (\(T.min)...\(T.max))")
}

private struct SingleContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]
    let strict: Bool

    func decodeNil() -> Bool { value == .null }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let b) = value else { throw mismatch("a boolean", value, codingPath) }
        return b
    }

    func decode(_ type: String.Type) throws -> String {
        guard case .string(let s) = value else { throw mismatch("a string", value, codingPath) }
        return s
    }

    func decode(_ type: Double.Type) throws -> Double {
        guard case .number(let raw) = value, let d = Double(raw) else { throw mismatch("a number", value, codingPath) }
        return d
    }

    func decode(_ type: Float.Type) throws -> Float {
        Float(try decode(Double.self))
    }

    func decode(_ type: Int.Type) throws -> Int { try decodeInteger(type, value, codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decodeInteger(type, value, codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decodeInteger(type, value, codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decodeInteger(type, value, codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decodeInteger(type, value, codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try decodeInteger(type, value, codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeInteger(type, value, codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeInteger(type, value, codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeInteger(type, value, codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeInteger(type, value, codingPath) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: ValueDecoder(value: value, codingPath: codingPath, rejectsUnknownKeys: strict))
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [any CodingKey]
    let strict: Bool

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    private func child(_ key: Key) throws -> ValueDecoder {
        let path = codingPath + [PathKey(stringValue: key.stringValue)]
        guard let v = members[key.stringValue] else {
            throw DecodeFailure(path: path, message: "missing")
        }
        return ValueDecoder(value: v, codingPath: path, rejectsUnknownKeys: strict)
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        members[key.stringValue].map { $0 == .null } ?? true
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try T(from: child(key))
    }

    // The primitive overloads route through the generic path; the standard library's
    // primitive `init(from:)` then asks the single-value container above.
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try primitive(type, key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try primitive(type, key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try primitive(type, key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try primitive(type, key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try primitive(type, key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try primitive(type, key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try primitive(type, key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try primitive(type, key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try primitive(type, key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try primitive(type, key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try primitive(type, key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try primitive(type, key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try primitive(type, key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try primitive(type, key) }

    private func primitive<V: Decodable>(_ type: V.Type, _ key: Key) throws -> V {
        try V(from: child(key))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try child(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try child(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        ValueDecoder(value: .object(members), codingPath: codingPath, rejectsUnknownKeys: strict)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        try child(key)
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let items: [JSONValue]
    let codingPath: [any CodingKey]
    let strict: Bool
    var currentIndex = 0

    init(items: [JSONValue], codingPath: [any CodingKey], strict: Bool) {
        self.items = items
        self.codingPath = codingPath
        self.strict = strict
    }

    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private mutating func next() throws -> ValueDecoder {
        let path = codingPath + [PathKey(intValue: currentIndex)]
        guard currentIndex < items.count else {
            throw DecodeFailure(path: path, message: "missing")
        }
        defer { currentIndex += 1 }
        return ValueDecoder(value: items[currentIndex], codingPath: path, rejectsUnknownKeys: strict)
    }

    mutating func decodeNil() throws -> Bool {
        guard currentIndex < items.count, items[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: next())
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next().unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        try next()
    }
}
