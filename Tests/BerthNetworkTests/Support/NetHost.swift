import BerthLinux
import BerthNetwork
import BerthOCI
import BerthTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The machine and the binaries under test (BerthTestSupport), and what a user would look at on
/// the host (links, iptables, namespace files, IPAM leases).
typealias NetHost = TestEnvironment

extension TestEnvironment {
    /// Namespace files of the tests live apart from a running berthd's.
    static let namespaceDirectory = "/run/berth-tests/netns"

    static func settings(configDirectory: String = "/nonexistent/berth-tests/cni") -> NetworkSettings {
        var settings = NetworkSettings()
        settings.namespaceDirectory = namespaceDirectory
        settings.configDirectory = configDirectory
        return settings
    }

    static func uniqueID(_ label: String) -> String { "\(label)-\(UUID().uuidString.prefix(8).lowercased())" }

    /// Interface names on the host (`ip -o link`), without the @peer suffix.
    static func hostLinks() throws -> [String] {
        try run(["/usr/sbin/ip", "-o", "link", "show"]).standardOutputText.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ":", maxSplits: 2)
            guard fields.count > 1 else { return nil }
            return String(fields[1].trimmingCharacters(in: .whitespaces).split(separator: "@").first ?? "")
        }
    }

    static func iptablesRules() throws -> String {
        var text = try run(["/usr/sbin/iptables-save"]).standardOutputText
        text += try run(["/usr/sbin/iptables-save", "-t", "nat"]).standardOutputText
        return text
    }

    /// host-local's lease files: one per address it handed out on `network`.
    static func leases(_ network: String) -> [String] {
        ((try? FileSystem.listDirectory("/var/lib/cni/networks/" + network)) ?? []).filter { $0.first?.isNumber == true }
    }

    /// The host's first global IPv4 address (what a client elsewhere would connect to).
    static func hostAddress() throws -> String {
        let output = try run(["/usr/sbin/ip", "-4", "-o", "addr", "show", "scope", "global"]).standardOutputText
        let fields = try #require(output.split(separator: "\n").first(where: { !$0.contains(" berth") && !$0.contains("cni-") && !$0.contains("podman") })?.split(separator: " "))
        let index = try #require(fields.firstIndex(of: "inet"))
        return String(fields[index + 1].split(separator: "/")[0])
    }

    /// A TCP port nothing listens on now.
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs `body` with a NetworkError-throwing call and returns its outcome for #expect.
    static func outcome<T>(_ body: () throws(NetworkError) -> T) -> Result<T, NetworkError> {
        Result(catching: body)
    }
}

/// One test's containers: a private berth state root, bundles from the busybox rootfs that join
/// a namespace file and see the attachment's /etc/hosts and /etc/resolv.conf.
struct Boxes {
    let directory: String
    var stateRoot: String { directory + "/berth-state" }
    private(set) var ids: [String] = []

    init(_ label: String) throws {
        directory = try NetHost.temporaryDirectory(label)
    }

    /// A bundle running `arguments` in the attachment's network (host mode: the host's).
    func bundle(_ name: String, _ arguments: [String], network: NetworkAttachment, files: [String: String] = [:]) throws -> String {
        let path = directory + "/" + name
        try FileSystem.createDirectory(path)
        try NetHost.run(["/bin/cp", "-a", NetHost.rootfs, path + "/rootfs"])
        for (file, content) in files {
            let target = path + "/rootfs" + file
            try FileSystem.createDirectory(FileSystem.parentDirectory(of: target))
            try FileSystem.writeAtomically(Array(content.utf8), to: target)
        }
        var spec = Spec.defaultSpec()
        spec.process?.terminal = false
        spec.process?.args = arguments
        spec.root?.readonly = false
        spec.linux?.namespaces?.removeAll { $0.type == "network" }
        if let namespace = network.namespacePath {
            spec.linux?.namespaces?.append(.init(type: "network", path: namespace))
        }
        for (destination, source) in [("/etc/hosts", network.hostsPath), ("/etc/resolv.conf", network.resolvConfPath)] {
            if let source { spec.mounts?.append(.init(destination: destination, type: "bind", source: source, options: ["rbind", "ro"])) }
        }
        try FileSystem.writeAtomically(Array(try OCIJSON.encode(spec)), to: path + "/config.json")
        return path
    }

    @discardableResult
    func berth(_ arguments: [String], timeout: Duration = .seconds(60)) throws -> ChildProcess.Output {
        try NetHost.run([NetHost.berthBinary, "--root", stateRoot] + arguments, timeout: timeout)
    }

    /// create + start: the container keeps running after this returns.
    mutating func start(_ bundle: String, id: String) throws {
        let created = try berth(["create", "--bundle", bundle, id])
        try #require(created.status == .exited(0), "berth create: \(created.standardErrorText)")
        ids.append(id)
        let started = try berth(["start", id])
        try #require(started.status == .exited(0), "berth start: \(started.standardErrorText)")
    }

    /// `berth run`: waits for the process and returns what it printed.
    func run(_ bundle: String, id: String) throws -> ChildProcess.Output {
        try berth(["run", "--bundle", bundle, id])
    }

    func cleanUp() {
        for id in ids { _ = try? berth(["delete", "--force", id]) }
        _ = try? NetHost.run(["/bin/rm", "-rf", directory])
    }
}
