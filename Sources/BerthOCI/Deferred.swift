/// A document kept as parsed JSON and decoded only when asked. Container state files embed the
/// whole spec, and most commands (start, state, kill, delete) need a field or two of it:
/// decoding all of a Spec was a third of the instructions of each such command.
public struct Deferred<Value: Codable & Sendable>: Codable, Sendable {
    private enum Storage: Sendable {
        case parsed(JSONValue)
        case decoded(Value)
        /// Decoded from this tree, which is what gets written again: encoding a whole Spec back
        /// was most of the cost of saving a container's state.
        case both(Value, JSONValue)
    }

    private var storage: Storage

    public init(_ value: Value) {
        storage = .decoded(value)
    }

    /// `value` as decoded from `tree`.
    init(_ value: Value, decodedFrom tree: JSONValue) {
        storage = .both(value, tree)
    }

    public init(from decoder: any Decoder) throws {
        // Only our own decoder has the tree to keep; any other decodes at once.
        if let decoder = decoder as? ValueDecoder {
            storage = .parsed(decoder.value)
        } else {
            storage = .decoded(try Value(from: decoder))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch storage {
        case .decoded(let value):
            try value.encode(to: encoder)
        case .parsed(let tree), .both(_, let tree):
            if let encoder = encoder as? ValueEncoder {
                encoder.node.scalar = tree
            } else {
                try value(source: "document").encode(to: encoder)
            }
        }
    }

    /// The whole value; errors name `source` and the path inside the document.
    public func value(source: String) throws(OCIError) -> Value {
        switch storage {
        case .decoded(let value), .both(let value, _): return value
        case .parsed(let tree): return try OCIJSON.decode(Value.self, from: tree, source: source)
        }
    }

    /// One top-level member, decoding nothing else (nil when it is absent or null). `decoded`
    /// reads the same member from a value that is already decoded.
    public func member<T: Decodable>(
        _ key: String, as type: T.Type, source: String, decoded: (Value) -> T?
    ) throws(OCIError) -> T? {
        switch storage {
        case .decoded(let value), .both(let value, _): return decoded(value)
        case .parsed(let tree): return try Self.member(key, of: tree, as: type, source: source)
        }
    }

    private static func member<T: Decodable>(_ key: String, of tree: JSONValue, as type: T.Type, source: String) throws(OCIError) -> T? {
        guard case .object(let members) = tree, let member = members[key], member != .null else { return nil }
        do {
            return try OCIJSON.decode(T.self, from: member, source: source)
        } catch {
            throw OCIError(source: source, path: key + (error.path.isEmpty ? "" : "." + error.path), message: error.message)
        }
    }
}
