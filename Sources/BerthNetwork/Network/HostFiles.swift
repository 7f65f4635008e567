import BerthLinux

/// The /etc/hosts and /etc/resolv.conf a task gets.
struct HostFiles {
    var mode: NetworkMode
    var hostname: String
    var addresses: [String]
    var dns: CNIResult.DNS
    var hostResolvConf: String
    /// systemd-resolved's list of the real upstream servers, used when /etc/resolv.conf only
    /// names its local stub.
    var upstreamResolvConf: String
    var fallbackNameservers: [String]

    func hosts(hostHosts: String?) -> String {
        if mode == .host {
            // The host's own names, plus the task's hostname (it has its own UTS namespace).
            var text = hostHosts ?? "127.0.0.1\tlocalhost\n"
            if !text.hasSuffix("\n") { text += "\n" }
            return text + "127.0.1.1\t\(hostname)\n"
        }
        var text = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        if addresses.isEmpty {
            text += "127.0.1.1\t\(hostname)\n"
        } else {
            for address in addresses { text += "\(address)\t\(hostname)\n" }
        }
        return text
    }

    func resolvConf() -> String {
        let host = ResolvConf(text: (try? FileSystem.readString(hostResolvConf)) ?? "")
        switch mode {
        case .host:
            return host.render()
        case .none:
            // Nothing is reachable: no nameserver, so lookups fail at once instead of timing out.
            return ResolvConf(search: host.search, options: host.options).render()
        case .bridge:
            // A 127.x server is the host's own loopback, which the task cannot reach.
            var servers = dns.nameservers
            if servers.isEmpty { servers = host.nameservers.filter { !Self.isLoopback($0) } }
            if servers.isEmpty {
                let upstream = ResolvConf(text: (try? FileSystem.readString(upstreamResolvConf)) ?? "")
                servers = upstream.nameservers.filter { !Self.isLoopback($0) }
            }
            if servers.isEmpty { servers = fallbackNameservers }
            var search = dns.search.isEmpty ? host.search : dns.search
            if search.isEmpty, let domain = dns.domain { search = [domain] }
            return ResolvConf(nameservers: servers, search: search, options: dns.options.isEmpty ? host.options : dns.options).render()
        }
    }

    static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address == "::1"
    }
}

/// The three resolv.conf settings berth carries over.
struct ResolvConf {
    var nameservers: [String] = []
    var search: [String] = []
    var options: [String] = []

    init(nameservers: [String] = [], search: [String] = [], options: [String] = []) {
        self.nameservers = nameservers
        self.search = search
        self.options = options
    }

    init(text: String) {
        for line in text.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let keyword = words.first, words.count > 1 else { continue }
            switch keyword {
            case "nameserver": nameservers.append(words[1])
            case "search", "domain": search = Array(words.dropFirst())
            case "options": options += words.dropFirst()
            default: continue
            }
        }
    }

    func render() -> String {
        var text = ""
        for server in nameservers { text += "nameserver \(server)\n" }
        if !search.isEmpty { text += "search \(search.joined(separator: " "))\n" }
        if !options.isEmpty { text += "options \(options.joined(separator: " "))\n" }
        return text
    }
}
