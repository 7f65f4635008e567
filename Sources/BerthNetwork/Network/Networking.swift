import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// Where berth keeps its networking pieces, and the defaults of its own bridge network.
public struct NetworkSettings: Sendable, Equatable {
    /// Namespace files: `<namespaceDirectory>/<id>`.
    public var namespaceDirectory = "/run/berth/netns"
    /// Operators' named CNI network lists (`*.conflist`, `*.conf`, `*.json`).
    public var configDirectory = "/etc/berth/cni"
    /// Where CNI plugin executables are looked up, in order (CNI_PATH).
    public var pluginDirectories = ["/usr/lib/cni", "/opt/cni/bin"]
    /// How long one plugin may run before it is killed and the step fails.
    public var pluginTimeout: Duration = .seconds(30)
    /// berth's bridge network (not podman's 10.88.0.0/16); the gateway is its first address.
    public var bridgeSubnet = "10.89.0.0/16"
    public var bridgeName = "berth0"
    /// Name servers for bridge tasks when neither CNI nor the host names a reachable one.
    public var fallbackNameservers: [String] = []
    public var hostResolvConf = "/etc/resolv.conf"
    public var upstreamResolvConf = "/run/systemd/resolve/resolv.conf"
    public var hostHosts = "/etc/hosts"

    public init() {}
}

/// What a task (or a task group: one namespace shared by all its tasks) asks for.
public struct AttachRequest: Sendable, Equatable {
    /// Task or group id: names the namespace file and is the CNI container id.
    public var id: String
    public var mode: NetworkMode
    /// Bridge mode: a named network list; nil is berth's own bridge network.
    public var networkName: String?
    /// Concrete host ports (the agent picked them from the offer).
    public var portMappings: [PortMapping]
    /// The name the task's /etc/hosts gives its address.
    public var hostname: String
    /// The checkpoint goes here (`network.json`).
    public var stateDirectory: String
    /// `hosts` and `resolv.conf` for the task are written here.
    public var filesDirectory: String

    public init(
        id: String, mode: NetworkMode, networkName: String? = nil, portMappings: [PortMapping] = [],
        hostname: String, stateDirectory: String, filesDirectory: String
    ) {
        self.id = id
        self.mode = mode
        self.networkName = networkName
        self.portMappings = portMappings
        self.hostname = hostname
        self.stateDirectory = stateDirectory
        self.filesDirectory = filesDirectory
    }
}

/// Host, none and bridge networking through the standard CNI plugins.
public struct Networking: Sendable {
    public var settings: NetworkSettings

    public init(settings: NetworkSettings = NetworkSettings()) {
        self.settings = settings
    }

    public var namespaces: NetworkNamespaces { NetworkNamespaces(directory: settings.namespaceDirectory) }

    var runner: PluginRunner { PluginRunner(directories: settings.pluginDirectories, timeout: settings.pluginTimeout) }

    /// Sets the network up and checkpoints it. Any failure undoes what was done (CNI DEL, the
    /// namespace, the files, the checkpoint) before the error is thrown.
    public func attach(_ request: AttachRequest) throws(NetworkError) -> NetworkAttachment {
        let lists = try validate(request)
        let checkpointPath = request.stateDirectory + "/" + NetworkAttachment.checkpointName
        if FileSystem.exists(checkpointPath) {
            throw NetworkError("network of \(request.id) is already set up (\(checkpointPath) exists)")
        }
        do {
            try FileSystem.createDirectory(request.stateDirectory)
            try FileSystem.createDirectory(request.filesDirectory)
        } catch {
            throw NetworkError(error)
        }
        var attachment = NetworkAttachment(
            id: request.id, mode: request.mode, phase: .attaching,
            namespacePath: request.mode == .host ? nil : namespaces.path(for: request.id),
            links: lists.map { NetworkAttachment.Link(list: $0, interface: $0 == .loopback ? "lo" : "eth0", result: nil) },
            portMappings: request.mode == .bridge ? request.portMappings : [],
            pluginDirectories: settings.pluginDirectories,
            pluginTimeoutSeconds: Int(settings.pluginTimeout.components.seconds),
            hostsPath: nil, resolvConfPath: nil, checkpointPath: checkpointPath)
        // The intent goes to disk first: a crash from here on leaves a checkpoint to detach from.
        try attachment.save()
        var createdNamespace = false
        let outcome = Result { () throws(NetworkError) in
            if let path = attachment.namespacePath {
                _ = try namespaces.create(request.id)
                createdNamespace = true
                for index in attachment.links.indices {
                    // The first plugin of a list makes the interface and takes the address: its
                    // result is checkpointed at once, so DEL after a crash knows the address.
                    let save = attachment.links[index].list != .loopback
                    attachment.links[index].result = try runner.add(target(attachment, index, namespace: path)) { (plugin, result) throws(NetworkError) in
                        guard save && plugin == 0 else { return }
                        var partial = attachment
                        partial.links[index].result = result
                        try partial.save()
                    }
                }
            }
            try writeFiles(&attachment, request)
            attachment.phase = .attached
            try attachment.save()
        }
        if case .failure(let failure) = outcome {
            rollBack(attachment, removingNamespace: createdNamespace)
            throw failure
        }
        return attachment
    }

    /// Tears the network down from the attachment alone: CNI DEL of every link (with its
    /// checkpointed result), then the namespace, the files and the checkpoint. Running it again,
    /// or on a namespace that is already gone, is fine. If a plugin fails, the checkpoint stays
    /// so the call can be repeated.
    public func detach(_ attachment: NetworkAttachment) throws(NetworkError) {
        let namespace = attachment.namespacePath.flatMap { NetworkNamespaces.isMounted($0) ? $0 : nil } ?? ""
        let runner = PluginRunner(directories: attachment.pluginDirectories, timeout: .seconds(max(1, attachment.pluginTimeoutSeconds)))
        var failures: [String] = []
        if attachment.namespacePath != nil {
            for index in attachment.links.indices.reversed() {
                if let failure = runner.delete(target(attachment, index, namespace: namespace), result: attachment.links[index].result) {
                    failures.append(failure.message)
                }
            }
        }
        if attachment.namespacePath != nil && namespace.isEmpty {
            for link in attachment.links where link.list != .loopback {
                if let failure = TaggedRules.remove(network: link.list.name, containerID: attachment.id) { failures.append(failure.message) }
            }
        }
        if !failures.isEmpty {
            throw NetworkError("network of \(attachment.id) not fully torn down: " + failures.joined(separator: "; "))
        }
        if let path = attachment.namespacePath { try NetworkNamespaces.remove(path: path) }
        for path in [attachment.hostsPath, attachment.resolvConfPath, attachment.checkpointPath].compactMap({ $0 }) {
            unlink(path)
        }
    }

    /// `detach` from a checkpoint file (after a restart); no checkpoint means nothing to undo.
    public func detach(checkpoint path: String) throws(NetworkError) {
        guard let attachment = try NetworkAttachment.load(path) else { return }
        try detach(attachment)
    }

    /// CNI CHECK of every link: the plugins verify their interfaces, addresses and rules.
    public func check(_ attachment: NetworkAttachment) throws(NetworkError) {
        guard let namespace = attachment.namespacePath else { return }
        let runner = PluginRunner(directories: attachment.pluginDirectories, timeout: .seconds(max(1, attachment.pluginTimeoutSeconds)))
        for index in attachment.links.indices {
            guard let result = attachment.links[index].result else {
                throw NetworkError("network of \(attachment.id): \(attachment.links[index].list.name) was never fully set up")
            }
            try runner.check(target(attachment, index, namespace: namespace), result: result)
        }
    }

    /// The network lists a request needs, after refusing bad input before anything is touched.
    /// What `attach` checks before touching anything: the agent calls it at launch, so a bad
    /// network name or port is refused to the client instead of failing the task later.
    @discardableResult
    public func validate(_ request: AttachRequest) throws(NetworkError) -> [NetworkList] {
        try NetworkNamespaces.validateName(request.id, field: "id")
        try Self.validateHostname(request.hostname)
        if request.mode != .bridge, let name = request.networkName {
            throw NetworkError("network.name: \"\(name)\" is only allowed with network mode bridge")
        }
        switch request.mode {
        case .host:
            return []
        case .none:
            if !request.portMappings.isEmpty { throw NetworkError("network.portMappings: not allowed with network mode none") }
            try runner.checkInstalled(.loopback)
            return [.loopback]
        case .bridge:
            try PortMapping.validate(request.portMappings)
            let catalog = NetworkCatalog(directory: settings.configDirectory)
            let list = try catalog.network(
                named: request.networkName ?? NetworkList.defaultName,
                defaultBridge: NetworkList.defaultBridge(subnet: settings.bridgeSubnet, bridge: settings.bridgeName))
            try runner.checkInstalled(.loopback)
            try runner.checkInstalled(list)
            return [.loopback, list]
        }
    }

    private func target(_ attachment: NetworkAttachment, _ index: Int, namespace: String) -> PluginRunner.Target {
        PluginRunner.Target(
            list: attachment.links[index].list, containerID: attachment.id, namespace: namespace,
            interface: attachment.links[index].interface, portMappings: attachment.portMappings)
    }

    private func writeFiles(_ attachment: inout NetworkAttachment, _ request: AttachRequest) throws(NetworkError) {
        let dns = attachment.links.compactMap { $0.result.flatMap { try? CNIResult($0, source: "result") } }
            .map(\.dns).first { !$0.nameservers.isEmpty } ?? CNIResult.DNS()
        let files = HostFiles(
            mode: request.mode, hostname: request.hostname, addresses: attachment.addresses, dns: dns,
            hostResolvConf: settings.hostResolvConf, upstreamResolvConf: settings.upstreamResolvConf,
            fallbackNameservers: settings.fallbackNameservers)
        let hosts = request.filesDirectory + "/hosts", resolv = request.filesDirectory + "/resolv.conf"
        attachment.hostsPath = hosts
        attachment.resolvConfPath = resolv
        do {
            try FileSystem.writeAtomically(Array(files.hosts(hostHosts: try? FileSystem.readString(settings.hostHosts)).utf8), to: hosts)
            try FileSystem.writeAtomically(Array(files.resolvConf().utf8), to: resolv)
        } catch {
            throw NetworkError(error)
        }
    }

    /// Undoes a failed attach. Each step is best effort: the original error is what the caller sees.
    private func rollBack(_ attachment: NetworkAttachment, removingNamespace: Bool) {
        if removingNamespace, let path = attachment.namespacePath {
            let runner = self.runner
            for index in attachment.links.indices.reversed() where attachment.links[index].result != nil {
                _ = runner.delete(target(attachment, index, namespace: path), result: attachment.links[index].result)
            }
            _ = Result { () throws(NetworkError) in try NetworkNamespaces.remove(path: path) }
        }
        for path in [attachment.hostsPath, attachment.resolvConfPath, attachment.checkpointPath].compactMap({ $0 }) {
            unlink(path)
        }
    }

    /// A hostname goes into /etc/hosts: letters, digits, '-' and '.' (a letter or digit first), at most 253.
    static func validateHostname(_ name: String) throws(NetworkError) {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
        }
        let first = name.utf8.first ?? 0
        let startsWell = (first >= 0x30 && first <= 0x39) || (first >= 0x41 && first <= 0x5A) || (first >= 0x61 && first <= 0x7A)
        if name.isEmpty || name.utf8.count > 253 || !allowed || !startsWell {
            throw NetworkError("hostname: \"\(name)\" must be 1-253 letters, digits, '-' or '.', starting with a letter or digit")
        }
    }
}
