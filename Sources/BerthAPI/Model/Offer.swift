import FoundationEssentials

/// Unallocated resources of the agent, offered to one scheduler. Use it once: accept it (with
/// operations) or decline it. It is rescinded when what it offers changes.
public struct Offer: Codable, Sendable, Equatable {
    public var id: String
    public var agentId: String
    public var hostname: String
    public var resources: [Resource]
    public var attributes: [String: String]

    public init(id: String, agentId: String, hostname: String, resources: [Resource], attributes: [String: String] = [:]) {
        self.id = id
        self.agentId = agentId
        self.hostname = hostname
        self.resources = resources
        self.attributes = attributes
    }
}

public enum OperationType: String, WireEnum {
    case launch = "LAUNCH"
    /// The tasks share one network namespace and are launched all or none.
    case launchGroup = "LAUNCH_GROUP"
    /// Moves unreserved resources of the offer to the role named in each resource.
    case reserve = "RESERVE"
    /// Moves reserved resources of the offer back to "*".
    case unreserve = "UNRESERVE"

    public static let kind = "operation type"
    public init(from decoder: any Decoder) throws { self = try Self.decodeWire(from: decoder) }
}

public struct Operation: Codable, Sendable, Equatable {
    public var type: OperationType
    /// LAUNCH and LAUNCH_GROUP.
    public var tasks: [TaskDefinition]
    /// RESERVE and UNRESERVE.
    public var resources: [Resource]

    public init(type: OperationType, tasks: [TaskDefinition] = [], resources: [Resource] = []) {
        self.type = type
        self.tasks = tasks
        self.resources = resources
    }

    enum CodingKeys: String, CodingKey { case type, tasks, resources }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decode(OperationType.self, forKey: .type)
        tasks = try c.decodeIfPresent([TaskDefinition].self, forKey: .tasks) ?? []
        resources = try c.decodeIfPresent([Resource].self, forKey: .resources) ?? []
    }
}

/// Accepts offers of this agent: all operations apply, or none. What the operations leave
/// unused returns to the pool (and, with `refuseSeconds`, is not offered back to this scheduler
/// for that long, like a decline).
public struct AcceptRequest: Codable, Sendable, Equatable {
    public var offerIds: [String]
    public var operations: [Operation]
    public var refuseSeconds: Double?

    public init(offerIds: [String], operations: [Operation], refuseSeconds: Double? = nil) {
        self.offerIds = offerIds
        self.operations = operations
        self.refuseSeconds = refuseSeconds
    }
}

/// Declines offers; their resources are not offered to this scheduler again for `refuseSeconds`.
public struct DeclineRequest: Codable, Sendable, Equatable {
    public var offerIds: [String]
    public var refuseSeconds: Double

    public static let defaultRefuseSeconds: Double = 5

    public init(offerIds: [String], refuseSeconds: Double = DeclineRequest.defaultRefuseSeconds) {
        self.offerIds = offerIds
        self.refuseSeconds = refuseSeconds
    }

    enum CodingKeys: String, CodingKey { case offerIds, refuseSeconds }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        offerIds = try c.decode([String].self, forKey: .offerIds)
        refuseSeconds = try c.decodeIfPresent(Double.self, forKey: .refuseSeconds) ?? Self.defaultRefuseSeconds
    }
}

/// What an accept did: one allocation per launched task, and the reservations made or removed.
public struct AcceptResponse: Codable, Sendable, Equatable {
    public var allocations: [TaskAllocation]
    public var reserved: [Resource]
    public var unreserved: [Resource]

    public init(allocations: [TaskAllocation] = [], reserved: [Resource] = [], unreserved: [Resource] = []) {
        self.allocations = allocations
        self.reserved = reserved
        self.unreserved = unreserved
    }
}

/// `berth agent info`.
public struct AgentInfo: Codable, Sendable, Equatable {
    public var id: String
    public var hostname: String
    public var version: String
    /// Seconds since the UNIX epoch.
    public var startedAt: Double
    /// Everything the agent can offer (after what is kept for the system), reservations by role.
    public var resources: [Resource]
    public var attributes: [String: String]
    public var inventory: InventoryDetails

    public init(id: String, hostname: String, version: String, startedAt: Double, resources: [Resource],
                attributes: [String: String], inventory: InventoryDetails) {
        self.id = id
        self.hostname = hostname
        self.version = version
        self.startedAt = startedAt
        self.resources = resources
        self.attributes = attributes
        self.inventory = inventory
    }
}

/// The machine as detected, before anything is kept for the system.
public struct InventoryDetails: Codable, Sendable, Equatable {
    /// CPUs this agent may use (its affinity mask).
    public var cpus: Int
    public var cpuModel: String?
    public var numaNodes: [NUMANode]
    public var memoryTotalMiB: Int
    /// Size of the filesystem holding the state directory.
    public var diskTotalMiB: Int
    public var stateDir: String
    public var gpus: [GPUDetails]
    public var portRanges: [ValueRange]
    /// Kept for the system: not offered.
    public var memoryReservedMiB: Int
    public var diskReservedMiB: Int

    public init(cpus: Int, cpuModel: String?, numaNodes: [NUMANode], memoryTotalMiB: Int, diskTotalMiB: Int,
                stateDir: String, gpus: [GPUDetails], portRanges: [ValueRange], memoryReservedMiB: Int,
                diskReservedMiB: Int) {
        self.cpus = cpus
        self.cpuModel = cpuModel
        self.numaNodes = numaNodes
        self.memoryTotalMiB = memoryTotalMiB
        self.diskTotalMiB = diskTotalMiB
        self.stateDir = stateDir
        self.gpus = gpus
        self.portRanges = portRanges
        self.memoryReservedMiB = memoryReservedMiB
        self.diskReservedMiB = diskReservedMiB
    }
}

public struct NUMANode: Codable, Sendable, Equatable {
    public var id: Int
    /// The node's CPUs as the kernel lists them ("0-3,8-11").
    public var cpuList: String
    public var memoryMiB: Int?

    public init(id: Int, cpuList: String, memoryMiB: Int? = nil) {
        self.id = id
        self.cpuList = cpuList
        self.memoryMiB = memoryMiB
    }
}

public struct GPUDetails: Codable, Sendable, Equatable {
    public var index: Int
    /// "nvidia" or "amd".
    public var vendor: String
    public var name: String?
    public var uuid: String?
    public var memoryMiB: Int?

    public init(index: Int, vendor: String, name: String? = nil, uuid: String? = nil, memoryMiB: Int? = nil) {
        self.index = index
        self.vendor = vendor
        self.name = name
        self.uuid = uuid
        self.memoryMiB = memoryMiB
    }
}
