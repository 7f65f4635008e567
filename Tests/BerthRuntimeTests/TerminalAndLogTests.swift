import BerthLinux
import BerthOCI
import Foundation
import Testing

@Suite("Terminals in the foreground, and the log file OCI clients read", .enabled(if: TestHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct TerminalAndLogTests {
    @Test("run with process.terminal and no console socket proxies the container's pty")
    func runWithTerminal() throws {
        let sandbox = try Sandbox("runtty")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["sh", "-c", "tty; stty size; exit 6"]) { $0.process?.terminal = true }
        let output = try sandbox.run(bundle)
        #expect(output.status == .exited(6))
        // A pty turns \n into \r\n on the way out.
        #expect(output.out.contains("/dev/pts/0\r\n"), "\(output.out)")
    }

    @Test("exec -t gives the new process a terminal of its own")
    func execWithTerminal() throws {
        let sandbox = try Sandbox("exectty")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["sleep", "1000"])
        #expect(try sandbox.berth("run", "-d", "--bundle", bundle, "exec-tty-box").succeeded)
        let output = try sandbox.berth("exec", "-t", "exec-tty-box", "sh", "-c", "tty; exit 2")
        #expect(output.status == .exited(2))
        #expect(output.out.hasPrefix("/dev/pts/"), "\(output.out)")
        let plain = try sandbox.berth("exec", "exec-tty-box", "sh", "-c", "tty")
        #expect(plain.out == "not a tty\n")
    }

    @Test("create with a terminal but no console socket is refused when detached")
    func terminalNeedsSocket() throws {
        let sandbox = try Sandbox("ttysock")
        defer { sandbox.cleanUp() }
        let bundle = try sandbox.bundle(["true"]) { $0.process?.terminal = true }
        let output = try sandbox.berth("create", "--bundle", bundle, "tty-nosock")
        #expect(output.err == "berth: config.json: process.terminal: a terminal needs --console-socket when berth does not stay in the foreground")
        #expect(!FileSystem.exists(sandbox.stateRoot + "/tty-nosock"))
    }

    @Test("--log with --log-format json gets one JSON line per error, as containerd reads it")
    func jsonLog() throws {
        let sandbox = try Sandbox("jsonlog")
        defer { sandbox.cleanUp() }
        let log = sandbox.directory + "/berth.log"
        let output = try sandbox.berth("--log", log, "--log-format", "json", "state", "no-such-container")
        #expect(output.status == .exited(1))
        let line = try FileSystem.readString(log).split(separator: "\n").first.map(String.init) ?? ""
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
        #expect(object?["level"] == "error")
        #expect(object?["msg"] == "container \"no-such-container\" does not exist")
        #expect(object?["time"]?.isEmpty == false)
        let text = try sandbox.berth("--log", log + ".txt", "state", "no-such-container")
        #expect(text.status == .exited(1))
        #expect(try FileSystem.readString(log + ".txt").contains("level=error msg=\"container \\\"no-such-container\\\" does not exist\""))
        // Nothing to say, no file: a run that succeeds leaves no empty log behind.
        let quiet = try sandbox.berth("--log", log + ".quiet", "list")
        #expect(quiet.status == .exited(0))
        #expect(!FileSystem.exists(log + ".quiet"))
    }
}
