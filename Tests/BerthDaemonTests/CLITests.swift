import BerthAPI
import BerthLinux
import BerthTestSupport
import Foundation
import Testing

@Suite(.enabled(if: TestEnvironment.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct AgentCLITests {
    private func berth(_ daemon: Daemon, _ arguments: [String], input: String? = nil) throws -> ChildProcess.Output {
        try Host.run([TestEnvironment.binDirectory + "/berth", "--socket", daemon.socket] + arguments, input: input)
    }

    @Test("berth agent, offers and task commands talk to berthd and print tables or JSON")
    func tour() throws {
        let daemon = try Daemon("cli")
        defer { daemon.cleanUp() }
        let info = try berth(daemon, ["agent", "info"])
        #expect(info.status == .exited(0), "\(info.standardErrorText)")
        #expect(info.standardOutputText.contains("ports      31000-32000"))
        let offers = try berth(daemon, ["offers", "--json"])
        let offerList = try JSONDecoder().decode([Offer].self, from: Data(offers.standardOutput))
        #expect(offerList.count == 1)

        // `task watch` below sees only the updates after it subscribes: a launch is often RUNNING
        // by then, so it waits for one more: the end, which comes only when the test says so,
        // after berthd logged the watch's request (it subscribes right then).
        let definition = #"{"id":"cli-echo","args":["/bin/sh","-c","echo from-cli; until [ -e go ]; do sleep 0.05; done"],"resources":{"cpus":0.1,"mem":32,"ports":1}}"#
        let launched = try berth(daemon, ["task", "launch", "--offer", offerList[0].id, "-"], input: definition)
        #expect(launched.status == .exited(0), "\(launched.standardErrorText)")
        #expect(launched.standardOutputText.hasPrefix("cli-echo STAGING ports 3"))
        let binary = TestEnvironment.binDirectory + "/berth"
        let watchOutput = try FileDescriptor.open(daemon.directory + "/watch.out", O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
        let watch = try ChildProcess(path: binary, arguments: [binary, "--socket", daemon.socket, "task", "watch", "--task", "cli-echo", "--count", "1"])
            .spawn(stdout: watchOutput.rawValue)
        watchOutput.close()
        defer {
            try? watch.signal(SIGKILL)
            watch.close()
        }
        #expect(Host.eventually { daemon.log().contains("GET /v1/events from") })
        try FileSystem.writeAtomically([UInt8](), to: try daemon.task("cli-echo").sandbox + "/go")
        #expect(try watch.wait(timeout: .seconds(120)) == .exited(0))
        #expect((try? FileSystem.readString(daemon.directory + "/watch.out"))?.contains("cli-echo") == true)
        try daemon.wait("cli-echo")
        let list = try berth(daemon, ["task", "list"])
        #expect(list.standardOutputText.contains("cli-echo"))
        #expect(list.standardOutputText.contains("FINISHED"))
        let show = try berth(daemon, ["task", "show", "cli-echo"])
        #expect(show.standardOutputText.contains("state      FINISHED (exited)"))
        let logs = try berth(daemon, ["task", "logs", "cli-echo"])
        #expect(logs.standardOutputText == "from-cli\n")

        // Errors are one line naming the field, exit status 1.
        let bad = try berth(daemon, ["task", "launch", "-"], input: #"{"id":"cli-bad","cmd":"true","resources":{"cpus":-2}}"#)
        #expect(bad.status == .exited(1))
        #expect(bad.standardErrorText.split(separator: "\n").count == 1)
        #expect(bad.standardErrorText.contains("resources.cpus"), "\(bad.standardErrorText)")
        let missing = try berth(daemon, ["task", "show", "cli-nope"])
        #expect(missing.status == .exited(1))
        #expect(missing.standardErrorText.contains("no task \"cli-nope\""))
        let unreachable = try Host.run([TestEnvironment.binDirectory + "/berth", "--socket", daemon.directory + "/none.sock", "task", "list"])
        #expect(unreachable.status == .exited(1))
        #expect(unreachable.standardErrorText.contains("cannot reach berthd"))
    }
}
