import BerthAPI
import BerthLinux
import BerthNetwork
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A task's network through BerthNetwork: nothing for host mode; for none and bridge, one
/// network namespace per task, or per group (LAUNCH_GROUP tasks share it). Its checkpoint lives
/// in STATE/networks/ID, so teardown works after a berthd restart from the file alone.
struct TaskNetwork: Sendable {
    let networking: Networking
    let stateDir: String

    /// The group's id for grouped tasks, else the task's.
    static func id(of record: TaskRecord) -> String { record.allocation.group ?? record.id }

    var directory: String { stateDir + "/networks" }
    func checkpoint(_ id: String) -> String { directory + "/" + id + "/" + NetworkAttachment.checkpointName }

    /// The attachment for a run: the existing one (a restart, or a group's later task), or a new
    /// one. `mappings` are every port mapping of the task's group with their host ports.
    func attach(_ record: TaskRecord, hostname: String, mappings: [BerthNetwork.PortMapping]) throws(APIError) -> NetworkAttachment? {
        let network = record.definition.network
        guard network.mode != .host, let mode = BerthNetwork.NetworkMode(rawValue: network.mode.rawValue) else { return nil }
        let id = TaskNetwork.id(of: record)
        if let existing = (try? NetworkAttachment.load(checkpoint(id))) ?? nil, existing.phase == .attached {
            return existing
        }
        // A half-made attachment from a crash is undone before a fresh attempt; a namespace
        // file of this id without any checkpoint is an orphan of berthd's own directory.
        if FileSystem.exists(checkpoint(id)) {
            try? networking.detach(checkpoint: checkpoint(id))
        } else if FileSystem.exists(networking.settings.namespaceDirectory + "/" + id) {
            try? networking.namespaces.remove(id)
        }
        let home = directory + "/" + id
        do {
            try FileSystem.createDirectory(directory, mode: 0o700)
            try FileSystem.createDirectory(home, mode: 0o700)
        } catch {
            throw APIError(status: 500, message: "network state: \(error)")
        }
        do {
            return try networking.attach(AttachRequest(
                id: id, mode: mode, networkName: network.name, portMappings: mode == .bridge ? mappings : [],
                hostname: hostname, stateDirectory: home, filesDirectory: home + "/etc"))
        } catch {
            try? FileSystem.removeTree(home)
            throw APIError(status: 400, message: error.message, field: "network")
        }
    }

    /// Refuses, at launch, what attach would refuse later (unknown network name, bad or taken
    /// host ports, a missing plugin), naming the field.
    func validate(_ record: TaskRecord, hostname: String, mappings: [BerthNetwork.PortMapping]) throws(APIError) {
        let network = record.definition.network
        guard network.mode != .host, let mode = BerthNetwork.NetworkMode(rawValue: network.mode.rawValue) else { return }
        do {
            try networking.validate(AttachRequest(
                id: TaskNetwork.id(of: record), mode: mode, networkName: network.name,
                portMappings: mode == .bridge ? mappings : [], hostname: hostname,
                stateDirectory: directory, filesDirectory: directory))
        } catch {
            throw APIError(status: 400, message: error.message)
        }
    }

    /// Tears a network down (CNI DEL from the checkpoint); nil when done, else why not.
    func detach(_ id: String) -> String? {
        let path = checkpoint(id)
        guard FileSystem.exists(path) else { return nil }
        do {
            try networking.detach(checkpoint: path)
            try? FileSystem.removeTree(directory + "/" + id)
            return nil
        } catch {
            return error.message
        }
    }

    /// Ids of every network with a checkpoint, for recovery.
    func checkpointedIDs() -> [String] {
        ((try? FileSystem.listDirectory(directory)) ?? []).filter { FileSystem.exists(checkpoint($0)) }
    }

    /// The port mappings of a task's definition with their allocated host ports; a containerPort
    /// of 0 means the same number as the host port.
    static func mappings(of record: TaskRecord) -> [BerthNetwork.PortMapping] {
        record.definition.network.portMappings.enumerated().compactMap { index, mapping in
            guard index < record.allocation.hostPorts.count else { return nil }
            let host = record.allocation.hostPorts[index]
            return BerthNetwork.PortMapping(
                containerPort: mapping.containerPort == 0 ? host : mapping.containerPort, hostPort: host,
                protocol: BerthNetwork.PortProtocol(rawValue: mapping.protocol.rawValue) ?? .tcp)
        }
    }

    /// The node's first non-loopback IPv4 address: BERTH_IP of host-mode tasks. Looked up at
    /// most once a second: the lookup dumps every link and address over netlink, a measurable
    /// part of a launch when launches come many a second.
    static func nodeAddress() -> String? {
        let now = ContinuousClock.now
        if let cached = nodeAddressCache.withLock({ $0 }), now < cached.until { return cached.address }
        let address = lookUpNodeAddress()
        nodeAddressCache.withLock { $0 = (address, now + .seconds(1)) }
        return address
    }

    private static let nodeAddressCache = Mutex<(address: String?, until: ContinuousClock.Instant)?>(nil)

    private static func lookUpNodeAddress() -> String? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return nil }
        defer { freeifaddrs(list) }
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET),
                  entry.pointee.ifa_flags & UInt32(IFF_LOOPBACK) == 0 else { continue }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { inet in
                var raw = inet.pointee.sin_addr
                _ = inet_ntop(AF_INET, &raw, &text, socklen_t(text.count))
            }
            return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return nil
    }
}
