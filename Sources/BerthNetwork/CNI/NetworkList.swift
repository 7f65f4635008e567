import BerthLinux

/// A CNI network configuration list (a `.conflist`): a named chain of plugins run in order on
/// ADD and in reverse on DEL. A single-plugin `.conf` is read as a list of one.
public struct NetworkList: Sendable, Equatable, Codable {
    public var name: String
    public var cniVersion: String
    /// Each plugin's configuration object, as written (it always has a string `type`).
    public var plugins: [CNIValue]
    /// Where it came from, for messages: a file path, or "built-in".
    public var source: String

    public init(name: String, cniVersion: String, plugins: [CNIValue], source: String) {
        self.name = name
        self.cniVersion = cniVersion
        self.plugins = plugins
        self.source = source
    }

    /// Reads a `.conflist` or `.conf` document, checking what berth relies on.
    public init(parsing document: CNIValue, source: String) throws(NetworkError) {
        guard let members = document.object else { throw NetworkError("\(source): expected a JSON object") }
        guard let name = members["name"]?.string else { throw NetworkError("\(source): name: missing (a string)") }
        guard let version = members["cniVersion"]?.string else { throw NetworkError("\(source): cniVersion: missing (a string)") }
        var plugins: [CNIValue]
        if let list = members["plugins"] {
            guard let array = list.array, !array.isEmpty else { throw NetworkError("\(source): plugins: expected a non-empty array") }
            plugins = array
        } else if members["type"] != nil {
            var single = members
            single["name"] = nil
            single["cniVersion"] = nil
            plugins = [.object(single)]
        } else {
            throw NetworkError("\(source): plugins: missing (or `type` for a single-plugin .conf)")
        }
        try NetworkNamespaces.validateName(name, field: "\(source): name")
        for (index, plugin) in plugins.enumerated() {
            guard plugin.object != nil else { throw NetworkError("\(source): plugins[\(index)]: expected an object") }
            guard let type = plugin["type"]?.string else { throw NetworkError("\(source): plugins[\(index)].type: missing (a string)") }
            try Self.validatePluginType(type, field: "\(source): plugins[\(index)].type")
        }
        self.init(name: name, cniVersion: version, plugins: plugins, source: source)
    }

    public var pluginTypes: [String] { plugins.map { $0["type"]?.string ?? "" } }

    /// A plugin type names an executable in a plugin directory: a plain file name.
    static func validatePluginType(_ type: String, field: String) throws(NetworkError) {
        if type.isEmpty || type.contains("/") || type == "." || type == ".." || type.utf8.contains(0) {
            throw NetworkError("\(field): \"\(type)\" is not a plugin name")
        }
    }

    /// The configuration plugin `index` reads on stdin: its own object plus the list's name and
    /// version, the previous result, and the runtime values its `capabilities` ask for.
    func pluginConfiguration(_ index: Int, prevResult: CNIValue?, portMappings: [PortMapping]) -> CNIValue {
        var config = plugins[index].object ?? [:]
        config["name"] = .string(name)
        config["cniVersion"] = .string(cniVersion)
        if let prevResult { config["prevResult"] = prevResult } else { config["prevResult"] = nil }
        var runtime: [String: CNIValue] = [:]
        if plugins[index]["capabilities"]?["portMappings"]?.bool == true {
            runtime["portMappings"] = .array(portMappings.map(\.cniValue))
        }
        if runtime.isEmpty { config["runtimeConfig"] = nil } else { config["runtimeConfig"] = .object(runtime) }
        return .object(config)
    }
}

extension NetworkList {
    /// The name of berth's own bridge network.
    public static let defaultName = "berth"

    /// berth's bridge network: a veth pair per task on the `bridge` Linux bridge (the host side
    /// is the gateway, traffic out is masqueraded), an address from host-local IPAM, a default
    /// route, portmap for published ports and the firewall plugin to let the traffic through.
    public static func defaultBridge(subnet: String, bridge: String) -> NetworkList {
        let ipam: CNIValue = .object([
            "type": .string("host-local"),
            "ranges": .array([.array([.object(["subnet": .string(subnet)])])]),
            "routes": .array([.object(["dst": .string("0.0.0.0/0")])]),
        ])
        return NetworkList(
            name: defaultName, cniVersion: "1.0.0",
            plugins: [
                .object([
                    "type": .string("bridge"), "bridge": .string(bridge), "isGateway": .bool(true),
                    "ipMasq": .bool(true), "hairpinMode": .bool(true), "ipam": ipam,
                ]),
                .object(["type": .string("portmap"), "capabilities": .object(["portMappings": .bool(true)])]),
                .object(["type": .string("firewall")]),
            ],
            source: "built-in network \"\(defaultName)\"")
    }

    /// Brings `lo` up in every namespace berth makes (none and bridge modes alike).
    public static let loopback = NetworkList(
        name: "berth-loopback", cniVersion: "1.0.0", plugins: [.object(["type": .string("loopback")])],
        source: "built-in network \"berth-loopback\"")
}

/// The named network lists an operator keeps in a directory (`/etc/berth/cni` by default):
/// `*.conflist`, `*.conf` and `*.json` files, each found by its `name` field.
struct NetworkCatalog {
    var directory: String

    /// The list called `name`. berth's default bridge network is built in, unless the directory
    /// holds one of the same name.
    func network(named name: String, defaultBridge: @autoclosure () -> NetworkList) throws(NetworkError) -> NetworkList {
        try NetworkNamespaces.validateName(name, field: "network.name")
        var seen: [String] = []
        for file in files() {
            let path = directory + "/" + file
            let bytes: [UInt8]
            do {
                bytes = try FileSystem.readBytes(path)
            } catch {
                throw NetworkError(error)
            }
            let list = try NetworkList(parsing: try CNIValue.parse(bytes, source: path), source: path)
            if list.name == name { return list }
            seen.append(list.name)
        }
        if name == NetworkList.defaultName { return defaultBridge() }
        let known = ([NetworkList.defaultName] + seen).map { "\"\($0)\"" }.joined(separator: ", ")
        throw NetworkError("network.name: unknown network \"\(name)\" (known: \(known); operators add theirs to \(directory))")
    }

    /// Configuration files in name order (the CNI convention: the first of a name wins).
    func files() -> [String] {
        ((try? FileSystem.listDirectory(directory)) ?? []).filter { name in
            !name.hasPrefix(".") && (name.hasSuffix(".conflist") || name.hasSuffix(".conf") || name.hasSuffix(".json"))
        }
    }
}
