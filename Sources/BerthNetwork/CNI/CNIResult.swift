/// What a CNI ADD returned (spec 0.3.0 to 1.0.0: `interfaces`, `ips`, `routes`, `dns`), read
/// from the raw result so the result itself can be handed back to the plugins untouched.
public struct CNIResult: Sendable, Equatable {
    public struct Interface: Sendable, Equatable {
        public var name: String
        public var mac: String?
        /// The namespace path for interfaces inside the container; nil for host-side ones.
        public var sandbox: String?
    }

    public struct Address: Sendable, Equatable {
        /// CIDR notation, `10.89.0.5/16`.
        public var cidr: String
        public var gateway: String?
        /// Index into `interfaces`.
        public var interface: Int?
        /// The address alone, `10.89.0.5`.
        public var ip: String { String(cidr.split(separator: "/").first ?? Substring(cidr)) }
        public var isIPv4: Bool { !ip.contains(":") }
    }

    public struct Route: Sendable, Equatable {
        public var destination: String
        public var gateway: String?
    }

    public struct DNS: Sendable, Equatable {
        public var nameservers: [String] = []
        public var domain: String?
        public var search: [String] = []
        public var options: [String] = []
    }

    public var cniVersion: String
    public var interfaces: [Interface]
    public var addresses: [Address]
    public var routes: [Route]
    public var dns: DNS

    /// Reads a result document; `source` names it in errors ("result of plugin bridge").
    public init(_ value: CNIValue, source: String) throws(NetworkError) {
        guard value.object != nil else { throw NetworkError("\(source): expected a JSON object") }
        cniVersion = value["cniVersion"]?.string ?? ""
        if cniVersion.hasPrefix("0.1.") || cniVersion.hasPrefix("0.2.") {
            throw NetworkError("\(source): cniVersion \(cniVersion) results are not supported (0.3.0 or later)")
        }
        func strings(_ v: CNIValue?) -> [String] { (v?.array ?? []).compactMap(\.string) }
        interfaces = []
        for (i, entry) in (value["interfaces"]?.array ?? []).enumerated() {
            guard let name = entry["name"]?.string else { throw NetworkError("\(source): interfaces[\(i)].name: missing") }
            interfaces.append(Interface(name: name, mac: entry["mac"]?.string, sandbox: entry["sandbox"]?.string))
        }
        addresses = []
        for (i, entry) in (value["ips"]?.array ?? []).enumerated() {
            guard let cidr = entry["address"]?.string else { throw NetworkError("\(source): ips[\(i)].address: missing") }
            addresses.append(Address(cidr: cidr, gateway: entry["gateway"]?.string, interface: entry["interface"]?.integer.map { Int($0) }))
        }
        routes = (value["routes"]?.array ?? []).compactMap { entry in
            entry["dst"]?.string.map { Route(destination: $0, gateway: entry["gw"]?.string) }
        }
        let dnsValue = value["dns"]
        dns = DNS(
            nameservers: strings(dnsValue?["nameservers"]), domain: dnsValue?["domain"]?.string,
            search: strings(dnsValue?["search"]), options: strings(dnsValue?["options"]))
    }

    /// The addresses on interfaces inside the container (or all, when the plugin did not say).
    public var containerAddresses: [Address] {
        addresses.filter { address in
            guard let index = address.interface, index >= 0, index < interfaces.count else { return true }
            return interfaces[index].sandbox?.isEmpty == false
        }
    }
}
