import BerthLinux
import BerthNetwork
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Refusals: one line naming the field, and nothing left behind (no namespace file, no
/// checkpoint, no veth, no lease, no rule).
@Suite("Bad network input is refused and leaves nothing", .serialized, .enabled(if: NetHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct BadInputTests {
    func attempt(_ settings: NetworkSettings = NetHost.settings(), mode: NetworkMode = .bridge, name: String? = nil,
                 ports: [PortMapping] = [], id: String? = nil, hostname: String? = nil) throws -> (String?, String, String) {
        let directory = try NetHost.temporaryDirectory("net-bad")
        defer { _ = try? NetHost.run(["/bin/rm", "-rf", directory]) }
        let id = id ?? NetHost.uniqueID("bad")
        let request = AttachRequest(id: id, mode: mode, networkName: name, portMappings: ports, hostname: hostname ?? "task",
                                    stateDirectory: directory + "/state", filesDirectory: directory + "/files")
        let networking = Networking(settings: settings)
        let outcome = NetHost.outcome { () throws(NetworkError) in try networking.attach(request) }
        if case .success(let attachment) = outcome { try? networking.detach(attachment) }
        // Nothing half set up.
        #expect(!networking.namespaces.list().contains(id), "namespace \(id) was left behind")
        #expect(!FileSystem.exists(directory + "/state/network.json"), "a checkpoint was left behind")
        #expect(!FileSystem.exists(directory + "/files/hosts"))
        #expect(!(try NetHost.iptablesRules()).contains(id))
        return (outcome.failureMessage, id, directory)
    }

    @Test("a host port outside 1-65535 is refused, naming the entry", arguments: [0, 65536, -1])
    func hostPortOutOfRange(port: Int) throws {
        let (message, _, _) = try attempt(ports: [PortMapping(containerPort: 80, hostPort: 20080), PortMapping(containerPort: 81, hostPort: port)])
        #expect(message == "network.portMappings[1].hostPort: \(port) is outside 1-65535")
    }

    @Test("a container port outside 1-65535 is refused")
    func containerPortOutOfRange() throws {
        let (message, _, _) = try attempt(ports: [PortMapping(containerPort: 70000, hostPort: 20080)])
        #expect(message == "network.portMappings[0].containerPort: 70000 is outside 1-65535")
    }

    @Test("the same host port twice is refused; tcp and udp on one port are fine")
    func duplicateHostPort() throws {
        let port = NetHost.freePort()
        let (message, _, _) = try attempt(ports: [
            PortMapping(containerPort: 80, hostPort: port), PortMapping(containerPort: 53, hostPort: port, protocol: .udp),
            PortMapping(containerPort: 81, hostPort: port),
        ])
        #expect(message == "network.portMappings[2].hostPort: \(port)/tcp is already mapped by network.portMappings[0]")
    }

    @Test("a host port a host process listens on is refused")
    func takenHostPort() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        #expect(listen(listener, 1) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let (message, _, _) = try attempt(ports: [PortMapping(containerPort: 80, hostPort: port)])
        #expect(message == "network.portMappings[0].hostPort: \(port)/tcp is already taken by a process on this host")
    }

    @Test("an unknown network name is refused")
    func unknownNetwork() throws {
        let (message, _, _) = try attempt(name: "nosuchnet")
        #expect(message?.hasPrefix("network.name: unknown network \"nosuchnet\" (known: \"berth\"") == true, "\(message ?? "accepted")")
    }

    @Test("a network name in a mode other than bridge is refused")
    func nameOutsideBridge() throws {
        let (message, _, _) = try attempt(mode: .none, name: "berth")
        #expect(message == "network.name: \"berth\" is only allowed with network mode bridge")
    }

    @Test("port mappings in none mode are refused")
    func portsInNoneMode() throws {
        let (message, _, _) = try attempt(mode: .none, ports: [PortMapping(containerPort: 80, hostPort: 20080)])
        #expect(message == "network.portMappings: not allowed with network mode none")
    }

    @Test("hostile ids and hostnames are refused", arguments: ["../escape", "a/b", "", "-dash", "x\ny"])
    func hostileNames(name: String) throws {
        let (idMessage, _, _) = try attempt(mode: .none, id: name)
        #expect(idMessage?.hasPrefix("id: ") == true, "\(idMessage ?? "accepted")")
        let (hostMessage, _, _) = try attempt(mode: .none, hostname: name.isEmpty ? "bad host" : name)
        #expect(hostMessage?.hasPrefix("hostname: ") == true, "\(hostMessage ?? "accepted")")
    }

    @Test("a plugin binary missing from the plugin directories is refused before anything is set up")
    func missingPlugin() throws {
        let config = try NetHost.temporaryDirectory("net-cni")
        defer { _ = try? NetHost.run(["/bin/rm", "-rf", config]) }
        try FileSystem.writeAtomically(Array("""
            {"cniVersion": "1.0.0", "name": "ghost", "plugins": [{"type": "bridge", "bridge": "berthghost0",
             "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.92.0.0/24"}]]}}, {"type": "nosuchplugin"}]}
            """.utf8), to: config + "/ghost.conflist")
        let (message, _, _) = try attempt(NetHost.settings(configDirectory: config), name: "ghost")
        #expect(message == "\(config)/ghost.conflist: plugins[1].type: plugin \"nosuchplugin\" not found in /usr/lib/cni:/opt/cni/bin")
        #expect(!(try NetHost.hostLinks()).contains("berthghost0"), "the bridge plugin ran anyway")

        // No plugins at all where they are looked up: even none mode says which one is missing.
        var empty = NetHost.settings()
        empty.pluginDirectories = [config]
        let (noneMessage, _, _) = try attempt(empty, mode: .none)
        #expect(noneMessage == "built-in network \"berth-loopback\": plugins[0].type: plugin \"loopback\" not found in \(config)")
    }

    @Test("a plugin failing in the middle of the chain: its error names it, and what ran before is undone")
    func failingPluginRollsBack() throws {
        let config = try NetHost.temporaryDirectory("net-cni")
        defer { _ = try? NetHost.run(["/bin/rm", "-rf", config]) }
        let name = NetHost.uniqueID("failnet")
        try FileSystem.writeAtomically(Array("""
            {"cniVersion": "1.0.0", "name": "\(name)", "plugins": [
              {"type": "bridge", "bridge": "berthfail0", "isGateway": true,
               "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.93.0.0/24"}]]}},
              {"type": "host-device", "device": "nosuchdev0"}]}
            """.utf8), to: config + "/fail.conflist")
        let (message, _, _) = try attempt(NetHost.settings(configDirectory: config), name: name)
        let text = try #require(message)
        #expect(text.hasPrefix("CNI plugin host-device (network \"\(name)\", ADD): "), "\(text)")
        #expect(!text.contains("\n"))
        // The bridge plugin's veth and lease were undone by DEL.
        let members = try NetHost.run(["/usr/sbin/ip", "-o", "link", "show", "master", "berthfail0"]).standardOutputText
        #expect(members.isEmpty, "veths still on the bridge: \(members)")
        #expect(NetHost.leases(name).isEmpty, "addresses still leased: \(NetHost.leases(name))")
        _ = try? NetHost.run(["/usr/sbin/ip", "link", "delete", "berthfail0"])
        _ = try? NetHost.run(["/bin/rm", "-rf", "/var/lib/cni/networks/" + name])
    }

    @Test("a broken operator network file is named in the error")
    func brokenConfigFile() throws {
        let config = try NetHost.temporaryDirectory("net-cni")
        defer { _ = try? NetHost.run(["/bin/rm", "-rf", config]) }
        try FileSystem.writeAtomically(Array(#"{"cniVersion": "1.0.0", "name": "x", "plugins": [{"type": "../../bin/sh"}]}"#.utf8), to: config + "/x.conflist")
        let (message, _, _) = try attempt(NetHost.settings(configDirectory: config), name: "x")
        #expect(message == "\(config)/x.conflist: plugins[0].type: \"../../bin/sh\" is not a plugin name")
    }

    @Test("a plugin that hangs is killed at the timeout, and what ran before it is undone")
    func hangingPluginTimesOut() throws {
        // The one stand-in plugin: no real plugin can be made to hang. The rest are Debian's.
        let plugins = try NetHost.temporaryDirectory("net-plugins")
        defer { _ = try? NetHost.run(["/bin/rm", "-rf", plugins]) }
        try FileSystem.writeAtomically(Array("#!/bin/sh\nexec sleep 60\n".utf8), to: plugins + "/hang", mode: 0o755)
        let name = NetHost.uniqueID("hangnet")
        try FileSystem.writeAtomically(Array("""
            {"cniVersion": "1.0.0", "name": "\(name)", "plugins": [
              {"type": "bridge", "bridge": "berthhang0", "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.94.0.0/24"}]]}},
              {"type": "hang"}]}
            """.utf8), to: plugins + "/hang.conflist")
        var settings = NetHost.settings(configDirectory: plugins)
        settings.pluginDirectories = ["/usr/lib/cni", plugins]
        // The limit holds for the real bridge plugin before it too: enough for it on a loaded machine.
        settings.pluginTimeout = .seconds(5)
        let (message, _, _) = try attempt(settings, name: name)
        #expect(message == "CNI plugin hang (network \"\(name)\", ADD): \(plugins)/hang did not finish within 5.0 seconds")
        let members = try NetHost.run(["/usr/sbin/ip", "-o", "link", "show", "master", "berthhang0"]).standardOutputText
        #expect(members.isEmpty, "veths still on the bridge: \(members)")
        #expect(NetHost.leases(name).isEmpty)
        _ = try? NetHost.run(["/usr/sbin/ip", "link", "delete", "berthhang0"])
        _ = try? NetHost.run(["/bin/rm", "-rf", "/var/lib/cni/networks/" + name])
    }
}
