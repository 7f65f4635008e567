import BerthAPI
import BerthLinux
import BerthOCI
import BerthTestSupport
import Foundation
import Testing

@Suite(.enabled(if: TestEnvironment.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct ContainerTaskTests {
    /// An OCI layout made by umoci from the busybox rootfs, with a config to recognise.
    private func makeImage(in directory: String) throws -> String {
        let layout = directory + "/layout"
        let image = layout + ":v1"
        for arguments in [
            ["init", "--layout", layout], ["new", "--image", image],
            ["insert", "--image", image, TestEnvironment.rootfs, "/"],
            ["config", "--image", image, "--config.cmd", "/bin/sh", "--config.cmd", "-c",
             "--config.cmd", "echo $GREETING from $(pwd) as $(id -u); test -d /mnt/sandbox && echo sandbox; hostname",
             "--config.env", "GREETING=hello-image", "--config.workingdir", "/etc"],
        ] {
            let output = try Host.run(["/usr/bin/umoci"] + arguments)
            try #require(output.status == .exited(0), "umoci \(arguments[0]): \(output.standardErrorText)")
        }
        return layout
    }

    @Test("a container task runs its image's command on an overlay rootfs; the rootfs goes with the task")
    func imageTask() throws {
        let daemon = try Daemon("ctr")
        defer { daemon.cleanUp() }
        let layout = try makeImage(in: daemon.directory)
        // `berth image import` goes to berthd when it runs.
        let imported = try Host.run([TestEnvironment.binDirectory + "/berth", "--socket", daemon.socket, "image", "import", "--name", "busy:v1", layout])
        #expect(imported.status == .exited(0), "\(imported.standardErrorText)")
        let images = try daemon.client.call("GET", Routes.images, as: [ImageSummary].self)
        #expect(images.map(\.name) == ["busy:v1"])

        _ = try daemon.launch(#"{"id":"ctr-image","container":{"image":"busy:v1"},"resources":{"cpus":0.2,"mem":32}}"#)
        let done = try daemon.wait("ctr-image")
        #expect(done.status.state == .finished, "\(done.status)")
        let out = String(decoding: try daemon.client.callRaw("GET", Routes.taskLogs("ctr-image")), as: UTF8.self)
        #expect(out == "hello-image from /etc as 0\nsandbox\nctr-image\n")
        // The overlay is unmounted and its upper directory gone once the task ended.
        let mounts = try FileSystem.readString("/proc/self/mountinfo")
        #expect(!mounts.contains(daemon.stateDir + "/tasks/ctr-image"))

        // A task's cmd replaces the image's; an image given by path is imported on first use.
        _ = try daemon.launch(#"{"id":"ctr-path","cmd":"cat /etc/os-release 2>/dev/null | head -1; echo $GREETING","container":{"image":"\#(layout)"}}"#)
        let second = try daemon.wait("ctr-path")
        #expect(second.status.state == .finished, "\(second.status)")
        #expect(String(decoding: try daemon.client.callRaw("GET", Routes.taskLogs("ctr-path")), as: UTF8.self).hasSuffix("hello-image\n"))

        // An unknown image ends the task in ERROR naming the image, and leaves nothing mounted.
        _ = try daemon.launch(#"{"id":"ctr-missing","container":{"image":"nope:1"}}"#)
        let missing = try daemon.wait("ctr-missing")
        #expect(missing.status.state == .error)
        #expect(missing.status.reason == .imageFailed)
        #expect(missing.status.message?.contains("nope") == true)
    }

    @Test("bridge mode: an address of its own and a published port; none mode: only lo; teardown leaves nothing")
    func networkModes() throws {
        let daemon = try Daemon("net")
        defer { daemon.cleanUp() }
        let web = #"""
        {"id":"net-web","cmd":"mkdir -p www && echo hi-from-bridge > www/index.html && echo ip=$BERTH_IP && exec /bin/busybox httpd -f -p 8080 -h www",
         "network":{"mode":"bridge","portMappings":[{"containerPort":8080,"hostPort":0,"name":"http"}]},
         "healthChecks":[{"protocol":"HTTP","portIndex":0,"intervalSeconds":0.2,"gracePeriodSeconds":0,"maxConsecutiveFailures":300}]}
        """#
        let info = try daemon.launch(web)
        let port = try #require(info.allocation?.hostPorts.first)
        try daemon.wait("net-web", for: .running)
        let node = try #require(nodeAddress())
        var answer = ""
        for _ in 0..<50 {
            answer = (try? Host.run(["/usr/bin/curl", "-s", "--max-time", "2", "http://\(node):\(port)/index.html"]))?.standardOutputText ?? ""
            if answer == "hi-from-bridge\n" { break }
            usleep(100_000)
        }
        #expect(answer == "hi-from-bridge\n")
        // The HTTP check reaches it at its own address (checks start at RUNNING, before httpd may
        // listen: it is allowed about a minute of failures).
        #expect(try Host.eventually { try daemon.task("net-web").status.healthy == true }, "\(String(describing: (try? daemon.task("net-web"))?.status))")
        let log = String(decoding: try daemon.client.callRaw("GET", Routes.taskLogs("net-web")), as: UTF8.self)
        #expect(log.hasPrefix("ip=10.89."), "\(log)")
        #expect(FileSystem.exists("/run/berth/netns/net-web"))

        _ = try daemon.launch(#"{"id":"net-none","cmd":"cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '","network":{"mode":"none"}}"#)
        #expect(try daemon.wait("net-none").status.state == .finished)
        #expect(String(decoding: try daemon.client.callRaw("GET", Routes.taskLogs("net-none")), as: UTF8.self) == "lo\n")

        _ = try daemon.client.call("POST", Routes.killTask("net-web"), body: KillRequest(graceSeconds: 1), as: TaskInfo.self)
        try daemon.wait("net-web", for: .killed)
        // Torn down in the background (with retries) after the task ended.
        let gone = Host.eventually { !FileSystem.exists("/run/berth/netns/net-web") && !FileSystem.exists("/run/berth/netns/net-none") }
        #expect(gone, "network namespaces removed")
        let rules = try Host.run(["/usr/sbin/iptables-save"]).standardOutputText
        #expect(!rules.contains("net-web"))

        // Refused at launch, naming the field: an unknown network and ports in none mode.
        let (status, body) = try daemon.raw("POST", "/v1/tasks", body: #"{"id":"net-bad","cmd":"true","network":{"mode":"bridge","name":"nosuch"}}"#)
        #expect(status == 400)
        #expect(body.contains("network.name"), "\(body)")
    }

    @Test("tasks launched as a group share one network namespace")
    func groupSharesNetwork() throws {
        let daemon = try Daemon("grp")
        defer { daemon.cleanUp() }
        let offer = try #require(try daemon.client.call("GET", Routes.offers, as: [Offer].self).first)
        let server = try OCIJSON.decode(TaskDefinition.self, from: Data(#"{"id":"grp-server","cmd":"mkdir -p w && echo shared > w/i && exec /bin/busybox httpd -f -p 127.0.0.1:9090 -h w","network":{"mode":"bridge"}}"#.utf8), source: "t")
        let client = try OCIJSON.decode(TaskDefinition.self, from: Data(#"{"id":"grp-client","cmd":"for i in $(seq 600); do /bin/busybox wget -qO- http://127.0.0.1:9090/i && exit 0; sleep 0.1; done; exit 1","network":{"mode":"bridge"}}"#.utf8), source: "t")
        let response = try daemon.client.call("POST", Routes.acceptOffers, body: AcceptRequest(offerIds: [offer.id], operations: [Operation(type: .launchGroup, tasks: [server, client])]), as: AcceptResponse.self)
        #expect(response.allocations.map(\.group) == ["grp-server", "grp-server"])
        let done = try daemon.wait("grp-client")
        let serverStatus = try daemon.task("grp-server").status
        #expect(done.status.state == .finished, "\(done.status) \(serverStatus)")
        #expect(String(decoding: try daemon.client.callRaw("GET", Routes.taskLogs("grp-client")), as: UTF8.self) == "shared\n")
        _ = try daemon.client.call("POST", Routes.killTask("grp-server"), body: KillRequest(graceSeconds: 0), as: TaskInfo.self)
        try daemon.wait("grp-server", for: .killed)
    }

    private func nodeAddress() -> String? {
        let output = try? Host.run(["/bin/sh", "-c", "ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -1"])
        let address = output?.standardOutputText.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        return address.isEmpty ? nil : address
    }
}

/// The fields of an image the tests look at (berthd answers with the store's full record).
struct ImageSummary: Decodable {
    var name: String
}
