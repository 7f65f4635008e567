import BerthLinux
import BerthNetwork
import BerthOCI
import Foundation
import Testing

/// Bridge mode with real CNI plugins and real busybox containers joining the namespace file.
@Suite("Bridge networking through CNI", .serialized, .enabled(if: NetHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct BridgeTests {
    let networking = Networking(settings: NetHost.settings())

    func request(_ id: String, _ boxes: Boxes, ports: [PortMapping] = []) -> AttachRequest {
        AttachRequest(
            id: id, mode: .bridge, portMappings: ports, hostname: id,
            stateDirectory: boxes.directory + "/state-" + id, filesDirectory: boxes.directory + "/files-" + id)
    }

    /// Polls `body` until it returns true or about 60 s pass (a server needs a moment to listen;
    /// longer on a loaded machine).
    func eventually(_ body: () throws -> Bool) rethrows -> Bool {
        for _ in 0..<300 {
            if try body() { return true }
            usleep(200_000)
        }
        return false
    }

    /// What the host shows of an attachment after teardown: nothing.
    func expectGone(_ attachment: NetworkAttachment, hostVeths: [String], lease: String?) throws {
        let links = try NetHost.hostLinks()
        for veth in hostVeths { #expect(!links.contains(veth), "veth \(veth) is still on the host") }
        #expect(!FileSystem.exists(try #require(attachment.namespacePath)), "the namespace file is still there")
        #expect(!FileSystem.exists(attachment.checkpointPath))
        let rules = try NetHost.iptablesRules()
        #expect(!rules.contains(attachment.id), "iptables still has rules for \(attachment.id)")
        if let lease {
            #expect(!NetHost.leases("berth").contains(lease), "address \(lease) is still leased")
            #expect(!rules.contains(lease + "/32"), "iptables still has rules for \(lease)")
        }
    }

    /// Host-side veth names from the checkpointed CNI result.
    func hostVeths(_ attachment: NetworkAttachment) throws -> [String] {
        let result = try CNIResult(try #require(attachment.links.last?.result), source: "test")
        return result.interfaces.filter { ($0.sandbox ?? "").isEmpty && $0.name.hasPrefix("veth") }.map(\.name)
    }

    @Test("a busybox httpd in bridge mode answers curl on the published host port; teardown removes everything")
    func httpdWithPublishedPort() throws {
        var boxes = try Boxes("net-httpd")
        defer { boxes.cleanUp() }
        let id = NetHost.uniqueID("httpd")
        let hostPort = NetHost.freePort()
        let attachment = try networking.attach(request(id, boxes, ports: [PortMapping(containerPort: 8080, hostPort: hostPort)]))
        let address = try #require(attachment.primaryAddress)
        #expect(address.hasPrefix("10.89."), "address \(address) is not on berth's bridge subnet")
        #expect(NetworkNamespaces.isMounted(try #require(attachment.namespacePath)))
        let veths = try hostVeths(attachment)
        let linksNow = try NetHost.hostLinks()
        #expect(veths.count == 1 && linksNow.contains(veths[0]))
        #expect(NetHost.leases("berth").contains(address))
        #expect(try NetHost.iptablesRules().contains(id), "no portmap/masquerade rule names the container")

        let bundle = try boxes.bundle("httpd", ["httpd", "-f", "-p", "8080", "-h", "/www"], network: attachment,
                                      files: ["/www/index.html": "hello from \(id)\n"])
        try boxes.start(bundle, id: id)
        let hostAddress = try NetHost.hostAddress()
        let answered = try eventually {
            let curl = try NetHost.run(["/usr/bin/curl", "-s", "--max-time", "3", "http://\(hostAddress):\(hostPort)/"])
            return curl.standardOutputText == "hello from \(id)\n"
        }
        #expect(answered, "curl http://\(hostAddress):\(hostPort)/ never got the page")

        // Inside: its address on eth0, and the hosts file berth wrote.
        let inside = try boxes.berth(["exec", id, "sh", "-c", "ip -o -4 addr show eth0; cat /etc/hosts; ip route"])
        #expect(inside.standardOutputText.contains("inet \(address)/"), "\(inside.standardOutputText)")
        #expect(inside.standardOutputText.contains("\(address)\t\(id)"))
        #expect(inside.standardOutputText.contains("default via 10.89.0.1"))

        _ = try boxes.berth(["delete", "--force", id])
        try networking.detach(attachment)
        try expectGone(attachment, hostVeths: veths, lease: address)
    }

    @Test("two tasks on the bridge reach each other by address")
    func twoTasksTalk() throws {
        var boxes = try Boxes("net-pair")
        defer { boxes.cleanUp() }
        let server = NetHost.uniqueID("server"), client = NetHost.uniqueID("client")
        let serverNet = try networking.attach(request(server, boxes))
        defer { try? networking.detach(serverNet) }
        let clientNet = try networking.attach(request(client, boxes))
        defer { try? networking.detach(clientNet) }
        let serverAddress = try #require(serverNet.primaryAddress)
        #expect(serverAddress != clientNet.primaryAddress)

        try boxes.start(try boxes.bundle("server", ["httpd", "-f", "-p", "80", "-h", "/www"], network: serverNet,
                                         files: ["/www/index.html": "server \(server)\n"]), id: server)
        let clientBundle = try boxes.bundle("client", ["sh", "-c", """
            for i in $(seq 1 300); do wget -q -O - http://\(serverAddress)/ && exit 0; sleep 0.2; done; exit 1
            """], network: clientNet)
        let fetched = try boxes.run(clientBundle, id: client)
        #expect(fetched.status == .exited(0), "\(fetched.standardErrorText)")
        #expect(fetched.standardOutputText == "server \(server)\n")
        _ = try boxes.berth(["delete", "--force", server])
    }

    @Test("after a crash, detach from the checkpoint alone removes interfaces, addresses and port rules")
    func detachAfterCrash() throws {
        let boxes = try Boxes("net-crash")
        defer { boxes.cleanUp() }
        let id = NetHost.uniqueID("crash")
        let checkpoint: String
        let veths: [String]
        let address: String
        do {
            // Everything of this scope is dropped, as a killed berthd would drop it.
            let attachment = try Networking(settings: NetHost.settings()).attach(request(id, boxes, ports: [PortMapping(containerPort: 80, hostPort: NetHost.freePort())]))
            checkpoint = attachment.checkpointPath
            veths = try hostVeths(attachment)
            address = try #require(attachment.primaryAddress)
        }
        #expect(try NetHost.iptablesRules().contains(id))
        let restarted = Networking(settings: NetHost.settings())
        let recovered = try #require(try NetworkAttachment.load(checkpoint))
        #expect(recovered.id == id && recovered.phase == .attached)
        try restarted.detach(checkpoint: checkpoint)
        try expectGone(recovered, hostVeths: veths, lease: address)
        // Again: nothing left to do is not an error.
        try restarted.detach(checkpoint: checkpoint)
        try restarted.detach(recovered)
    }

    @Test("detach works when the namespace is already gone, and still releases the address and rules")
    func detachWithoutNamespace() throws {
        let boxes = try Boxes("net-nons")
        defer { boxes.cleanUp() }
        let id = NetHost.uniqueID("nons")
        let attachment = try networking.attach(request(id, boxes, ports: [PortMapping(containerPort: 80, hostPort: NetHost.freePort())]))
        let veths = try hostVeths(attachment)
        let address = try #require(attachment.primaryAddress)
        try networking.namespaces.remove(id)
        try networking.detach(attachment)
        try expectGone(attachment, hostVeths: veths, lease: address)
    }

    @Test("a checkpoint from a crash in the middle of attach still tears down")
    func detachHalfAttached() throws {
        let boxes = try Boxes("net-half")
        defer { boxes.cleanUp() }
        let id = NetHost.uniqueID("half")
        var attachment = try networking.attach(request(id, boxes))
        let veths = try hostVeths(attachment)
        let address = try #require(attachment.primaryAddress)
        // What the checkpoint looks like when berthd died after the bridge plugin's ADD (its
        // result, with the address, is checkpointed at once) but before the rest returned.
        attachment.phase = .attaching
        attachment.links[0].result = nil
        attachment.hostsPath = nil
        attachment.resolvConfPath = nil
        try FileSystem.writeAtomically(Array(try OCIJSON.encode(attachment)), to: attachment.checkpointPath)
        try networking.detach(checkpoint: attachment.checkpointPath)
        try expectGone(attachment, hostVeths: veths, lease: address)
    }

    @Test("a named network list from the config directory is used by name")
    func namedNetwork() throws {
        let boxes = try Boxes("net-named")
        defer { boxes.cleanUp() }
        let config = boxes.directory + "/cni"
        try FileSystem.createDirectory(config)
        let name = NetHost.uniqueID("opnet")
        try FileSystem.writeAtomically(Array("""
            {"cniVersion": "0.4.0", "name": "\(name)", "plugins": [
              {"type": "bridge", "bridge": "berthop0", "isGateway": true, "ipMasq": true,
               "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.91.7.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
              {"type": "firewall"}]}
            """.utf8), to: config + "/50-operator.conflist")
        let operatorNetworking = Networking(settings: NetHost.settings(configDirectory: config))
        var wanted = request(NetHost.uniqueID("named"), boxes)
        wanted.networkName = name
        let attachment = try operatorNetworking.attach(wanted)
        #expect(attachment.primaryAddress?.hasPrefix("10.91.7.") == true, "\(attachment.addresses)")
        #expect(attachment.links.last?.list.name == name)
        try operatorNetworking.check(attachment)
        try operatorNetworking.detach(attachment)
        #expect(NetHost.leases(name).isEmpty)
        #expect(!FileSystem.exists(try #require(attachment.namespacePath)))
        _ = try? NetHost.run(["/usr/sbin/ip", "link", "delete", "berthop0"])
        _ = try? NetHost.run(["/bin/rm", "-rf", "/var/lib/cni/networks/" + name])
    }

    @Test("resolv.conf of a bridge task skips the host's 127.x stub: systemd-resolved's upstream, else the configured fallback")
    func resolvConfSkipsLoopback() throws {
        let boxes = try Boxes("net-resolv")
        defer { boxes.cleanUp() }
        try FileSystem.writeAtomically(Array("nameserver 127.0.0.53\nsearch corp.example\noptions edns0\n".utf8), to: boxes.directory + "/host-resolv.conf")
        try FileSystem.writeAtomically(Array("nameserver 127.0.0.1\nnameserver 192.0.2.53\n".utf8), to: boxes.directory + "/upstream.conf")
        var settings = NetHost.settings()
        settings.hostResolvConf = boxes.directory + "/host-resolv.conf"
        settings.upstreamResolvConf = boxes.directory + "/upstream.conf"
        let first = try Networking(settings: settings).attach(request(NetHost.uniqueID("resolv"), boxes))
        defer { try? Networking(settings: settings).detach(first) }
        #expect(try FileSystem.readString(try #require(first.resolvConfPath)) == "nameserver 192.0.2.53\nsearch corp.example\noptions edns0\n")

        settings.upstreamResolvConf = boxes.directory + "/missing.conf"
        settings.fallbackNameservers = ["198.51.100.1"]
        let second = try Networking(settings: settings).attach(request(NetHost.uniqueID("resolv"), boxes))
        defer { try? Networking(settings: settings).detach(second) }
        #expect(try FileSystem.readString(try #require(second.resolvConfPath)) == "nameserver 198.51.100.1\nsearch corp.example\noptions edns0\n")
    }
}
