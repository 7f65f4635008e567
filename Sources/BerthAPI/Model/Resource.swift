import FoundationEssentials

public enum ResourceType: String, WireEnum {
    /// A quantity (cpus, mem, disk, gpus), fixed-point with 3 decimals.
    case scalar
    /// Integer intervals (ports).
    case ranges
    /// Named items.
    case set

    public static let kind = "resource type"
    public init(from decoder: any Decoder) throws { self = try Self.decodeWire(from: decoder) }
}

/// An inclusive interval of integers: `{"begin": 31000, "end": 32000}`.
public struct ValueRange: Codable, Sendable, Equatable, Hashable, CustomStringConvertible {
    public var begin: Int
    public var end: Int

    public init(begin: Int, end: Int) {
        self.begin = begin
        self.end = end
    }

    public var description: String { "\(begin)-\(end)" }
}

/// Who reserved a resource for its role (dynamic reservations; static ones have none).
public struct Reservation: Codable, Sendable, Equatable, Hashable {
    public var principal: String?
    public var labels: [String: String]?

    public init(principal: String? = nil, labels: [String: String]? = nil) {
        self.principal = principal
        self.labels = labels
    }
}

/// One resource on the wire, Mesos-style: `{"name": "cpus", "type": "scalar", "scalar": 1.5}`,
/// `{"name": "ports", "type": "ranges", "ranges": [{"begin": 31000, "end": 31009}]}`.
/// Exactly the field named by `type` is set. `role` "*" means unreserved.
public struct Resource: Codable, Sendable, Equatable {
    public var name: String
    public var type: ResourceType
    public var scalar: Double?
    public var ranges: [ValueRange]?
    public var set: [String]?
    public var role: String
    public var reservation: Reservation?

    public init(name: String, type: ResourceType, scalar: Double? = nil, ranges: [ValueRange]? = nil,
                set: [String]? = nil, role: String = "*", reservation: Reservation? = nil) {
        self.name = name
        self.type = type
        self.scalar = scalar
        self.ranges = ranges
        self.set = set
        self.role = role
        self.reservation = reservation
    }

    public static func scalar(_ name: String, _ value: Double, role: String = "*") -> Resource {
        Resource(name: name, type: .scalar, scalar: value, role: role)
    }

    public static func ranges(_ name: String, _ ranges: [ValueRange], role: String = "*") -> Resource {
        Resource(name: name, type: .ranges, ranges: ranges, role: role)
    }

    public static func set(_ name: String, _ items: [String], role: String = "*") -> Resource {
        Resource(name: name, type: .set, set: items, role: role)
    }

    enum CodingKeys: String, CodingKey { case name, type, scalar, ranges, set, role, reservation }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        type = try c.decode(ResourceType.self, forKey: .type)
        scalar = try c.decodeIfPresent(Double.self, forKey: .scalar)
        ranges = try c.decodeIfPresent([ValueRange].self, forKey: .ranges)
        set = try c.decodeIfPresent([String].self, forKey: .set)
        role = try c.decodeIfPresent(String.self, forKey: .role) ?? "*"
        reservation = try c.decodeIfPresent(Reservation.self, forKey: .reservation)
    }

    /// Checks the shape (the value matching `type`, names, roles, numbers); `field` is the
    /// resource's path in the request ("operations[0].resources[2]").
    public func validate(at field: String) throws(APIError) {
        let f = { (key: String) in FieldPath.join(field, key) }
        if !Self.isValidName(name) {
            throw .badRequest(f("name"), "must match [a-z][a-z0-9_.-]{0,63}, got \(quoted(name))")
        }
        if !Self.isValidRole(role) {
            throw .badRequest(f("role"), "must be \"*\" or match [a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}, got \(quoted(role))")
        }
        let present = [(scalar != nil, "scalar"), (ranges != nil, "ranges"), (set != nil, "set")]
        for (isSet, key) in present where isSet && key != type.rawValue {
            throw .badRequest(f(key), "not allowed for a resource of type \(type.rawValue)")
        }
        switch type {
        case .scalar:
            guard let scalar else { throw .badRequest(f("scalar"), "required for a resource of type scalar") }
            if !(scalar >= 0 && scalar <= Self.maxScalar) {
                throw .badRequest(f("scalar"), "must be between 0 and \(formatNumber(Self.maxScalar)), got \(formatNumber(scalar))")
            }
        case .ranges:
            guard let ranges else { throw .badRequest(f("ranges"), "required for a resource of type ranges") }
            if ranges.count > 65536 { throw .badRequest(f("ranges"), "more than 65536 ranges") }
            for (i, range) in ranges.enumerated() {
                let at = FieldPath.index(f("ranges"), i)
                if range.begin < 0 || range.end > Self.maxRangeValue {
                    throw .badRequest(at, "must lie within 0-\(Self.maxRangeValue), got \(range)")
                }
                if range.begin > range.end {
                    throw .badRequest(at, "begin must not exceed end, got \(range)")
                }
            }
        case .set:
            guard let set else { throw .badRequest(f("set"), "required for a resource of type set") }
            if set.count > 65536 { throw .badRequest(f("set"), "more than 65536 items") }
            for (i, item) in set.enumerated() where item.isEmpty || item.count > 256 || item.contains("\0") {
                throw .badRequest(FieldPath.index(f("set"), i), "must be 1 to 256 characters without NUL, got \(quoted(item))")
            }
        }
    }

    /// Largest scalar accepted anywhere (2^40: far above any machine, far below Int64 milli-units).
    public static let maxScalar: Double = 1_099_511_627_776
    /// Ranges are port-like: 0...65535 covers every use berth has.
    public static let maxRangeValue = 65535

    public static func isValidName(_ name: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        guard let first = scalars.first, scalars.count <= 64, ("a"..."z").contains(first) else { return false }
        return scalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0) }
    }

    /// "*" (unreserved) or a role name: `[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}`.
    public static func isValidRole(_ role: String) -> Bool {
        if role == "*" { return true }
        let scalars = Array(role.unicodeScalars)
        guard let first = scalars.first, scalars.count <= 128, isWordScalar(first) else { return false }
        return scalars.allSatisfy { isWordScalar($0) || $0 == "." || $0 == "-" }
    }

    static func isWordScalar(_ s: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s) || s == "_"
    }
}

/// Numbers in messages: `2`, `1.5`, `-1`, `0.001`.
public func formatNumber(_ value: Double) -> String {
    if value.isNaN { return "NaN" }
    if value.isInfinite { return value < 0 ? "-inf" : "inf" }
    if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
    return "\(value)"
}
