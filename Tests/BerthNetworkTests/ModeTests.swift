import BerthLinux
import BerthNetwork
import Foundation
import Testing

@Suite("None and host modes, namespace files", .serialized, .enabled(if: NetHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct ModeTests {
    let networking = Networking(settings: NetHost.settings())

    func request(_ id: String, _ mode: NetworkMode, _ boxes: Boxes) -> AttachRequest {
        AttachRequest(id: id, mode: mode, hostname: id, stateDirectory: boxes.directory + "/state", filesDirectory: boxes.directory + "/files")
    }

    /// Interface names in /proc/net/dev text.
    func interfaces(_ procNetDev: String) -> Set<String> {
        Set(procNetDev.split(separator: "\n").dropFirst(2).compactMap { $0.split(separator: ":").first?.trimmingCharacters(in: .whitespaces) })
    }

    @Test("none mode: the task has only lo, and it is up")
    func noneHasOnlyLoopback() throws {
        let boxes = try Boxes("net-none")
        defer { boxes.cleanUp() }
        let id = NetHost.uniqueID("none")
        let attachment = try networking.attach(request(id, .none, boxes))
        let path = try #require(attachment.namespacePath)
        #expect(networking.namespaces.list().contains(id))
        #expect(attachment.addresses.isEmpty)
        let bundle = try boxes.bundle("none", ["sh", "-c", "cat /proc/net/dev; echo ---; ip -o link show lo; echo lo-works > /tmp/i.html; httpd -p 127.0.0.1:8080 -h /tmp; for i in $(seq 1 300); do wget -q -O - http://127.0.0.1:8080/i.html && exit 0; sleep 0.1; done; exit 1"], network: attachment)
        let output = try boxes.run(bundle, id: id)
        #expect(output.status == .exited(0), "\(output.standardErrorText)")
        let parts = output.standardOutputText.components(separatedBy: "---\n")
        #expect(interfaces(parts[0]) == ["lo"], "\(parts[0])")
        #expect(parts.count > 1 && parts[1].contains("UP"), "lo is not up: \(output.standardOutputText)")
        #expect(output.standardOutputText.hasSuffix("lo-works\n"), "loopback does not carry traffic")
        let resolv = try FileSystem.readString(try #require(attachment.resolvConfPath))
        #expect(!resolv.contains("nameserver"), "none mode got a nameserver: \(resolv)")
        try networking.detach(attachment)
        #expect(!FileSystem.exists(path))
        #expect(!networking.namespaces.list().contains(id))
        #expect(!FileSystem.exists(attachment.checkpointPath))
    }

    @Test("host mode: the task sees the host's interfaces and its resolv.conf")
    func hostSeesHostInterfaces() throws {
        let boxes = try Boxes("net-host")
        defer { boxes.cleanUp() }
        let id = NetHost.uniqueID("host")
        let attachment = try networking.attach(request(id, .host, boxes))
        #expect(attachment.namespacePath == nil)
        let bundle = try boxes.bundle("host", ["cat", "/proc/net/dev"], network: attachment)
        let output = try boxes.run(bundle, id: id)
        #expect(output.status == .exited(0), "\(output.standardErrorText)")
        // The host's own links, not a namespace's: eth0 is there, the same as on the host.
        let seen = interfaces(output.standardOutputText)
        #expect(seen.isSuperset(of: ["lo", "eth0"]), "\(seen)")
        #expect(interfaces(try FileSystem.readString("/proc/net/dev")).isSuperset(of: seen.filter { !$0.hasPrefix("veth") }))
        #expect(try FileSystem.readString(try #require(attachment.resolvConfPath)) == ResolvText.normalized(try FileSystem.readString("/etc/resolv.conf")))
        #expect(try FileSystem.readString(try #require(attachment.hostsPath)).contains("\t\(id)\n"))
        try networking.detach(attachment)
        #expect(!FileSystem.exists(try #require(attachment.hostsPath)))
    }

    @Test("namespace files: create, list, remove; removing twice is fine")
    func namespaceFiles() throws {
        let namespaces = NetworkNamespaces(directory: NetHost.namespaceDirectory)
        let name = NetHost.uniqueID("ns")
        let path = try namespaces.create(name)
        #expect(NetworkNamespaces.isMounted(path))
        #expect(namespaces.list().contains(name))
        // It is a network namespace of its own: only lo, and down.
        let links = try NetHost.run(["/usr/bin/nsenter", "--net=" + path, "/usr/sbin/ip", "-o", "link"])
        #expect(links.standardOutputText.split(separator: "\n").count == 1 && links.standardOutputText.contains("lo:"))
        let again = NetHost.outcome { () throws(NetworkError) in try namespaces.create(name) }
        #expect(again.failureMessage == "network namespace \(path) already exists")
        try namespaces.remove(name)
        #expect(!FileSystem.exists(path))
        try namespaces.remove(name)
    }
}

/// resolv.conf as berth rewrites it (nameserver, search, options lines only).
enum ResolvText {
    static func normalized(_ text: String) -> String {
        var servers: [String] = [], search = "", options: [String] = []
        for line in text.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard words.count > 1 else { continue }
            if words[0] == "nameserver" { servers.append("nameserver \(words[1])\n") }
            if words[0] == "search" || words[0] == "domain" { search = "search " + words.dropFirst().joined(separator: " ") + "\n" }
            if words[0] == "options" { options += words.dropFirst() }
        }
        return servers.joined() + search + (options.isEmpty ? "" : "options " + options.joined(separator: " ") + "\n")
    }
}

extension Result where Failure == NetworkError {
    var failureMessage: String? {
        if case .failure(let error) = self { return error.message }
        return nil
    }
}
