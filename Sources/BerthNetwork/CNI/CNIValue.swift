import BerthOCI
import FoundationEssentials

/// Any JSON value. CNI configurations are open-ended (an operator's macvlan or ipvlan list may
/// carry fields berth has never heard of) and must reach the plugins unchanged, so they are
/// kept as values, not as fixed structs. Read and written through OCIJSON.
public enum CNIValue: Codable, Equatable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([CNIValue])
    case object([String: CNIValue])

    public init(from decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        if single.decodeNil() { self = .null }
        else if let value = try? single.decode(Bool.self) { self = .bool(value) }
        else if let value = try? single.decode(Int64.self) { self = .integer(value) }
        else if let value = try? single.decode(Double.self) { self = .number(value) }
        else if let value = try? single.decode(String.self) { self = .string(value) }
        else if let value = try? single.decode([CNIValue].self) { self = .array(value) }
        else { self = .object(try single.decode([String: CNIValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var single = encoder.singleValueContainer()
        switch self {
        case .null: try single.encodeNil()
        case .bool(let value): try single.encode(value)
        case .integer(let value): try single.encode(value)
        case .number(let value): try single.encode(value)
        case .string(let value): try single.encode(value)
        case .array(let value): try single.encode(value)
        case .object(let value): try single.encode(value)
        }
    }

    public subscript(key: String) -> CNIValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public var string: String? { if case .string(let value) = self { return value } else { return nil } }
    public var array: [CNIValue]? { if case .array(let value) = self { return value } else { return nil } }
    public var object: [String: CNIValue]? { if case .object(let value) = self { return value } else { return nil } }
    public var bool: Bool? { if case .bool(let value) = self { return value } else { return nil } }
    public var integer: Int64? { if case .integer(let value) = self { return value } else { return nil } }

    /// Parses a JSON document; `source` names it in errors.
    public static func parse(_ bytes: [UInt8], source: String) throws(NetworkError) -> CNIValue {
        do {
            return try OCIJSON.decode(CNIValue.self, from: Data(bytes), source: source)
        } catch {
            throw NetworkError(error)
        }
    }

    /// Compact JSON (what plugins read on stdin).
    public func jsonBytes(pretty: Bool = false) throws(NetworkError) -> [UInt8] {
        do {
            return try OCIJSON.encodeBytes(self, pretty: pretty)
        } catch {
            throw NetworkError("cannot encode JSON: \(error)")
        }
    }
}
