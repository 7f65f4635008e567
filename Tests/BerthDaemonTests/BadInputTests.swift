import BerthAPI
import BerthLinux
import BerthTestSupport
import Foundation
import Testing

@Suite(.enabled(if: TestEnvironment.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct DaemonBadInputTests {
    @Test("hostile requests get a 4xx naming the field, and berthd carries on")
    func hostileRequests() throws {
        let daemon = try Daemon("bad")
        defer { daemon.cleanUp() }
        let cases: [(String, String, String?, Int, String)] = [
            ("POST", "/v1/tasks", "{not json", 400, "not valid JSON"),
            ("POST", "/v1/tasks", #"{"id":"bad-a","cmd":"true","cpu":1}"#, 400, "cpu: unknown field"),
            ("POST", "/v1/tasks", #"{"id":"bad-b","cmd":"true","resources":{"cpus":"many"}}"#, 400, "resources.cpus"),
            ("POST", "/v1/tasks", #"{"id":"bad-c","cmd":"true","resources":{"cpus":-1}}"#, 400, "resources.cpus"),
            ("POST", "/v1/tasks", #"{"id":"bad-d","cmd":"true","resources":{"mem":1e12}}"#, 400, "resources.mem"),
            ("POST", "/v1/tasks", #"{"id":"../etc","cmd":"true"}"#, 400, "id"),
            ("POST", "/v1/tasks", #"{"id":"bad-e"}"#, 400, "cmd"),
            ("GET", "/v1/tasks/nope", nil, 404, "nope"),
            ("DELETE", "/v1/tasks", nil, 405, "DELETE"),
            ("GET", "/v2/agent", nil, 404, "/v1"),
            ("POST", "/v1/offers/accept", #"{"offerIds":"x"}"#, 400, "offerIds"),
        ]
        for (method, path, body, status, fragment) in cases {
            let (got, answer) = try daemon.raw(method, path, body: body)
            #expect(got == status, "\(method) \(path) \(body ?? ""): \(answer)")
            #expect(answer.contains(fragment), "\(method) \(path): \(answer)")
            #expect(answer.contains("\"error\""), "the error is JSON: \(answer)")
        }
        // A body over the limit is refused before it is read.
        let huge = String(repeating: "x", count: 2 << 20)
        let (status, _) = try daemon.raw("POST", "/v1/tasks", body: huge)
        #expect(status == 413)
        // Duplicate ids of a live task are a conflict.
        _ = try daemon.launch(#"{"id":"bad-dup","cmd":"sleep 600"}"#)
        let (dup, answer) = try daemon.raw("POST", "/v1/tasks", body: #"{"id":"bad-dup","cmd":"true"}"#)
        #expect(dup == 409, "\(answer)")
        // Still alive and answering.
        #expect(try daemon.client.call("GET", Routes.agent, as: AgentInfo.self).version.isEmpty == false)
        #expect(Host.processes(matching: daemon.directory).count >= 1)
    }

    @Test("the socket is 0660 root:berth when the group exists, and requests are logged with the peer")
    func socketPermissions() throws {
        _ = try? Host.run(["/usr/sbin/groupadd", "--system", "berth"])
        let daemon = try Daemon("sock")
        defer { daemon.cleanUp() }
        var info = stat()
        #expect(stat(daemon.socket, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o660)
        #expect(info.st_uid == 0)
        let group = getgrnam("berth")
        #expect(group != nil && info.st_gid == group!.pointee.gr_gid)
        _ = try daemon.client.call("GET", Routes.agent, as: AgentInfo.self)
        #expect(daemon.log().contains("GET /v1/agent from pid="))
    }

    @Test("a bad config file or flag stops berthd at start with one line naming the field")
    func badConfiguration() throws {
        let directory = try TestEnvironment.temporaryDirectory("badconf")
        defer { try? FileSystem.removeTree(directory) }
        try FileSystem.writeAtomically(Array(#"{"stateDir":"/tmp/x","inventory":{"portRanges":[{"begin":5,"end":2}]}}"#.utf8), to: directory + "/c.json")
        try FileSystem.writeAtomically(Array(#"{"statDir":"/tmp/x"}"#.utf8), to: directory + "/typo.json")
        let berthd = TestEnvironment.binDirectory + "/berthd"
        let ranges = try Host.run([berthd, "--config", directory + "/c.json", "--socket", directory + "/s"])
        #expect(ranges.status == .exited(1))
        #expect(ranges.standardErrorText.contains("inventory.portRanges[0]"), "\(ranges.standardErrorText)")
        let typo = try Host.run([berthd, "--config", directory + "/typo.json", "--socket", directory + "/s"])
        #expect(typo.status == .exited(1))
        #expect(typo.standardErrorText.contains("statDir: unknown field"), "\(typo.standardErrorText)")
        let address = try Host.run([berthd, "--metrics-address", "nowhere", "--socket", directory + "/s"])
        #expect(address.standardErrorText.contains("metricsAddress"), "\(address.standardErrorText)")
    }
}
