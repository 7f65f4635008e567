import ArgumentParser
import BerthAPI
import BerthLinux
import BerthOCI
import BerthRuntimeCLI
import FoundationEssentials

/// `berth agent info`: what berthd knows about this machine.
struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent", abstract: "Ask berthd about itself.", subcommands: [AgentInfoCommand.self])
}

struct AgentInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "The agent's id, inventory and resources.")
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let info = try global.agentClient.call("GET", Routes.agent, as: AgentInfo.self)
        if json { return try printJSON(info) }
        let inventory = info.inventory
        var lines = [
            "agent      \(info.id) (berthd \(info.version))",
            "hostname   \(info.hostname)",
            "cpus       \(inventory.cpus)\(inventory.cpuModel.map { " × \($0)" } ?? "")",
            "memory     \(inventory.memoryTotalMiB) MiB (\(inventory.memoryReservedMiB) MiB kept for the system)",
            "disk       \(inventory.diskTotalMiB) MiB in \(inventory.stateDir) (\(inventory.diskReservedMiB) MiB kept)",
            "numa       \(inventory.numaNodes.map { "node\($0.id): \($0.cpuList)" }.joined(separator: ", "))",
            "gpus       \(inventory.gpus.isEmpty ? "none" : inventory.gpus.map { "\($0.index): \($0.vendor) \($0.name ?? "")" }.joined(separator: ", "))",
            "ports      \(inventory.portRanges.map(\.description).joined(separator: ","))",
            "resources  \(info.resources.map(describe).joined(separator: "  "))",
        ]
        lines += info.attributes.sorted { $0.key < $1.key }.map { "attribute  \($0.key)=\($0.value)" }
        print(lines.joined(separator: "\n"))
    }
}

/// `berth offers`: the offers berthd makes now (each with an id to accept or decline).
struct OffersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offers", abstract: "Show berthd's current offers; accept or decline them.",
        subcommands: [OffersListCommand.self, OffersAcceptCommand.self, OffersDeclineCommand.self],
        defaultSubcommand: OffersListCommand.self)
}

struct SchedulerOptions: ParsableArguments {
    @Option(help: "The scheduler asking (offers are per scheduler).") var scheduler: String?
    @Option(help: "The role to be offered resources of (default *).") var role: String?

    var query: String {
        var items: [String] = []
        if let scheduler { items.append("scheduler=" + Routes.percentEncoded(scheduler)) }
        if let role { items.append("role=" + Routes.percentEncoded(role)) }
        return items.isEmpty ? "" : "?" + items.joined(separator: "&")
    }
}

struct OffersListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List offers.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var scheduler: SchedulerOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let offers = try global.agentClient.call("GET", Routes.offers + scheduler.query, as: [Offer].self)
        if json { return try printJSON(offers) }
        let rows = [["OFFER", "RESOURCES"]] + offers.map { [$0.id, $0.resources.map(describe).joined(separator: "  ")] }
        print(Table.render(rows), terminator: "")
    }
}

struct OffersAcceptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accept", abstract: "Accept offers with operations from a JSON file ({offerIds, operations}).")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var scheduler: SchedulerOptions
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "The accept request (- for stdin).") var file: String

    func run() throws {
        let request = try readRequest(AcceptRequest.self, from: file)
        let response = try global.agentClient.call("POST", Routes.acceptOffers + scheduler.query, body: request, as: AcceptResponse.self)
        if json { return try printJSON(response) }
        for allocation in response.allocations {
            print("launched \(allocation.taskId)\(allocation.hostPorts.isEmpty ? "" : " ports \(allocation.hostPorts.map(String.init).joined(separator: ","))")")
        }
        for resource in response.reserved { print("reserved \(describe(resource))") }
        for resource in response.unreserved { print("unreserved \(describe(resource))") }
    }
}

struct OffersDeclineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decline", abstract: "Decline offers.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var scheduler: SchedulerOptions
    @Option(name: .customLong("refuse-seconds"), help: "Do not offer these resources again for this long.")
    var refuseSeconds: Double = DeclineRequest.defaultRefuseSeconds
    @Argument(help: "Offer ids.") var offerIds: [String]

    func run() throws {
        let request = DeclineRequest(offerIds: offerIds, refuseSeconds: refuseSeconds)
        _ = try global.agentClient.call("POST", Routes.declineOffers + scheduler.query, body: request, as: AgentClient.Empty.self)
    }
}

/// "cpus:2", "ports:[31000-31010]", with the role when it is not "*".
func describe(_ resource: Resource) -> String {
    let value: String
    switch resource.type {
    case .scalar: value = formatNumber(resource.scalar ?? 0)
    case .ranges: value = "[" + (resource.ranges ?? []).map(\.description).joined(separator: ",") + "]"
    case .set: value = "{" + (resource.set ?? []).joined(separator: ",") + "}"
    }
    return "\(resource.name)\(resource.role == "*" ? "" : "(\(resource.role))"):\(value)"
}

func printJSON(_ value: some Encodable) throws {
    print(try OCIJSON.encodeString(value), terminator: "")
}

/// A request body from a file or stdin, decoded strictly so a typo is caught here already.
func readRequest<T: Decodable>(_ type: T.Type, from file: String) throws -> T {
    let bytes: [UInt8]
    if file == "-" {
        bytes = try FileDescriptor.standardInput.readAll(step: "read stdin")
    } else {
        bytes = try FileSystem.readBytes(file)
    }
    do {
        return try OCIJSON.decode(type, from: Data(bytes), source: file == "-" ? "stdin" : file, rejectingUnknownFields: true)
    } catch {
        throw CommandError(description: error.description)
    }
}
