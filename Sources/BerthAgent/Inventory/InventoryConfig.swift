import BerthAPI

/// What the operator sets about the machine (berthd's config file, `inventory` section).
/// Every field is optional; the defaults are Mesos's: 1 GiB of memory and 5 GiB of disk are
/// kept for the system, ports 31000-32000 are offered.
public struct InventoryConfig: Codable, Sendable, Equatable {
    public var portRanges: [ValueRange]
    /// Extra attributes offered with every offer; they override detected ones of the same name.
    public var attributes: [String: String]
    /// Static reservations: resources (role not "*") set aside for a role.
    public var reservations: [Resource]
    public var memoryReservedMiB: Int
    public var diskReservedMiB: Int
    /// Overrides of what is offered (instead of detected minus reserved).
    public var cpus: Double?
    public var memoryMiB: Int?
    public var diskMiB: Int?

    public static let defaultPortRanges = [ValueRange(begin: 31000, end: 32000)]
    public static let defaultMemoryReservedMiB = 1024
    public static let defaultDiskReservedMiB = 5120

    public init(portRanges: [ValueRange] = InventoryConfig.defaultPortRanges, attributes: [String: String] = [:],
                reservations: [Resource] = [], memoryReservedMiB: Int = InventoryConfig.defaultMemoryReservedMiB,
                diskReservedMiB: Int = InventoryConfig.defaultDiskReservedMiB, cpus: Double? = nil,
                memoryMiB: Int? = nil, diskMiB: Int? = nil) {
        self.portRanges = portRanges
        self.attributes = attributes
        self.reservations = reservations
        self.memoryReservedMiB = memoryReservedMiB
        self.diskReservedMiB = diskReservedMiB
        self.cpus = cpus
        self.memoryMiB = memoryMiB
        self.diskMiB = diskMiB
    }

    enum CodingKeys: String, CodingKey {
        case portRanges, attributes, reservations, memoryReservedMiB, diskReservedMiB, cpus, memoryMiB, diskMiB
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        portRanges = try c.decodeIfPresent([ValueRange].self, forKey: .portRanges) ?? Self.defaultPortRanges
        attributes = try c.decodeIfPresent([String: String].self, forKey: .attributes) ?? [:]
        reservations = try c.decodeIfPresent([Resource].self, forKey: .reservations) ?? []
        memoryReservedMiB = try c.decodeIfPresent(Int.self, forKey: .memoryReservedMiB) ?? Self.defaultMemoryReservedMiB
        diskReservedMiB = try c.decodeIfPresent(Int.self, forKey: .diskReservedMiB) ?? Self.defaultDiskReservedMiB
        cpus = try c.decodeIfPresent(Double.self, forKey: .cpus)
        memoryMiB = try c.decodeIfPresent(Int.self, forKey: .memoryMiB)
        diskMiB = try c.decodeIfPresent(Int.self, forKey: .diskMiB)
    }

    /// Checks values; `field` is the section's path in the config file ("inventory").
    public func validate(at field: String = "") throws(APIError) {
        let f = { (key: String) in FieldPath.join(field, key) }
        if portRanges.count > 1024 { throw .badRequest(f("portRanges"), "more than 1024 ranges") }
        for (i, range) in portRanges.enumerated() {
            let at = FieldPath.index(f("portRanges"), i)
            if range.begin < 1 || range.end > 65535 || range.begin > range.end {
                throw .badRequest(at, "must be a range within 1-65535 with begin <= end, got \(range)")
            }
        }
        if attributes.count > 256 { throw .badRequest(f("attributes"), "more than 256 attributes") }
        for key in attributes.keys.sorted() {
            let at = FieldPath.join(f("attributes"), key)
            if !Resource.isValidName(key.lowercased()) || key.contains("\0") {
                throw .badRequest(at, "attribute names must match [a-zA-Z][a-zA-Z0-9_.-]{0,63}")
            }
            let value = attributes[key]!
            if value.utf8.count > 1024 || value.utf8.contains(0) {
                throw .badRequest(at, "must be at most 1024 bytes without NUL")
            }
        }
        if reservations.count > TaskLimits.maxResources {
            throw .badRequest(f("reservations"), "more than \(TaskLimits.maxResources) reservations")
        }
        for (i, reservation) in reservations.enumerated() {
            let at = FieldPath.index(f("reservations"), i)
            try reservation.validate(at: at)
            if reservation.role == "*" {
                throw .badRequest(FieldPath.join(at, "role"), "must name the role to reserve for, not \"*\"")
            }
        }
        if !(0...(1 << 40)).contains(memoryReservedMiB) {
            throw .badRequest(f("memoryReservedMiB"), "must be between 0 and \(1 << 40), got \(memoryReservedMiB)")
        }
        if !(0...(1 << 40)).contains(diskReservedMiB) {
            throw .badRequest(f("diskReservedMiB"), "must be between 0 and \(1 << 40), got \(diskReservedMiB)")
        }
        if let cpus, !(cpus >= 0.001 && cpus <= TaskLimits.maxCPUs) {
            throw .badRequest(f("cpus"), "must be between 0.001 and \(formatNumber(TaskLimits.maxCPUs)), got \(formatNumber(cpus))")
        }
        if let memoryMiB, !(0...(1 << 40)).contains(memoryMiB) {
            throw .badRequest(f("memoryMiB"), "must be between 0 and \(1 << 40), got \(memoryMiB)")
        }
        if let diskMiB, !(0...(1 << 40)).contains(diskMiB) {
            throw .badRequest(f("diskMiB"), "must be between 0 and \(1 << 40), got \(diskMiB)")
        }
    }
}
