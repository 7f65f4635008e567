import BerthLinux
import BerthOCI
import BerthTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The machine and the binaries under test (BerthTestSupport), with the supervisor beside berth.
typealias SupervisorHost = TestEnvironment

extension TestEnvironment {
    /// berth-supervisor is built into the same directory as berth.
    static let supervisorBinary = FileSystem.parentDirectory(of: berthBinary) + "/berth-supervisor"

    /// Checks `condition` every 20 ms until it holds or `timeout` passes (a bound against hangs,
    /// not a timing assertion).
    static func eventually(timeout: Duration = .seconds(30), _ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    /// A field of /proc/PID/status, such as "VmRSS" (in kB) or "PPid".
    static func statusField(_ name: String, of pid: pid_t) -> Int? {
        guard let status = try? FileSystem.readString("/proc/\(pid)/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            // "VmRSS:\t    1856 kB"
            return line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) }
        }
        return nil
    }
}

/// DIR/exit.json, exactly as the supervisor's contract with berthd has it.
struct SupervisorExitFile: Decodable {
    var containerId: String
    var phase: String
    var exitCode: Int?
    var signal: Int?
    var message: String?
    var finishedAt: Double
}

/// DIR/supervisor.json.
struct SupervisorIdentityFile: Decodable {
    var pid: Int32
    var startTime: UInt64
    var containerId: String
}

/// One supervised task: a task dir, a private runtime root and a bundle whose root is the shared
/// busybox rootfs (read-only), with a unique container id. `cleanUp` removes all of it.
struct SupervisedTask {
    let directory: String
    let id: String
    var taskDir: String { directory + "/task" }
    var runtimeRoot: String { directory + "/runtime" }
    var bundle: String { directory + "/bundle" }

    init(_ label: String, arguments: [String], edit: (inout Spec) -> Void = { _ in }) throws {
        let unique = UUID().uuidString.prefix(8).lowercased()
        directory = "/tmp/berth-tests/supervisor-\(label)-\(unique)"
        id = "sv-\(label)-\(unique)"
        try FileSystem.createDirectory("/tmp/berth-tests")
        try FileSystem.createDirectory(directory)
        try FileSystem.createDirectory(directory + "/task")
        try FileSystem.createDirectory(directory + "/bundle")
        // The default config as `berth spec` writes it, then our process.
        let spec = try SupervisorHost.run([SupervisorHost.berthBinary, "spec", "--bundle", directory + "/bundle"])
        guard spec.status == .exited(0) else { throw SupervisorFixtureError("berth spec: \(spec.standardErrorText)") }
        var config = try Spec.load(bundle: directory + "/bundle")
        config.root?.path = SupervisorHost.rootfs
        config.root?.readonly = true
        config.process?.terminal = false
        config.process?.args = arguments
        edit(&config)
        try FileSystem.writeAtomically(Array(try config.encode()), to: directory + "/bundle/config.json")
    }

    func arguments(_ extra: [String] = []) -> [String] {
        [SupervisorHost.supervisorBinary, "--task-dir", taskDir, "--berth", SupervisorHost.berthBinary,
         "--runtime-root", runtimeRoot, "--bundle", bundle, "--container-id", id] + extra
    }

    /// Runs the supervisor the way berthd does: it returns once the daemon is set up.
    func launch(_ extra: [String] = [], berth: String? = nil) throws -> ChildProcess.Output {
        var arguments = arguments(extra)
        if let berth { arguments[4] = berth }
        return try SupervisorHost.run(arguments)
    }

    func file(_ name: String) -> String {
        (try? FileSystem.readString(taskDir + "/" + name)) ?? ""
    }

    func exists(_ name: String) -> Bool { FileSystem.exists(taskDir + "/" + name) }

    func supervisor() throws -> SupervisorIdentityFile {
        try OCIJSON.decode(SupervisorIdentityFile.self, from: Data(try FileSystem.readBytes(taskDir + "/supervisor.json")),
                           source: "supervisor.json", rejectingUnknownFields: true)
    }

    /// Waits for exit.json and decodes it; unknown or missing fields fail the decoding.
    func waitForExit(timeout: Duration = .seconds(60)) throws -> SupervisorExitFile {
        guard SupervisorHost.eventually(timeout: timeout, { exists("exit.json") }) else {
            throw SupervisorFixtureError("no exit.json after \(timeout); stderr: \(file("stderr"))")
        }
        return try OCIJSON.decode(SupervisorExitFile.self, from: Data(try FileSystem.readBytes(taskDir + "/exit.json")),
                                  source: "exit.json", rejectingUnknownFields: true)
    }

    /// `berth --root <ours> ARGS`.
    @discardableResult
    func berth(_ arguments: String...) throws -> ChildProcess.Output {
        try SupervisorHost.run([SupervisorHost.berthBinary, "--root", runtimeRoot] + arguments)
    }

    /// The container's status as `berth state` reports it ("" when there is none).
    func containerStatus() -> String {
        struct State: Decodable { var status: String }
        guard let output = try? berth("state", id), output.status == .exited(0),
              let state = try? OCIJSON.decode(State.self, from: Data(output.standardOutput), source: "state") else { return "" }
        return state.status
    }

    func supervisorIsRunning() -> Bool {
        guard let record = try? supervisor() else { return false }
        return ProcFS.isRunning(pid: record.pid, startTime: record.startTime)
    }

    /// Deletes the container (as berthd does after reading exit.json), stops a supervisor a
    /// failed test left behind, and removes the directories.
    func cleanUp() {
        _ = try? berth("delete", "--force", id)
        // Held by pidfd, then checked to be ours: a recycled pid is never signalled.
        if let record = try? supervisor(), let handle = try? ProcessHandle.open(pid: record.pid) {
            if ProcFS.startTime(of: record.pid) == record.startTime,
               !SupervisorHost.eventually(timeout: .seconds(5), { !supervisorIsRunning() }) {
                try? handle.signal(SIGKILL)
            }
            handle.close()
        }
        _ = try? SupervisorHost.run(["/bin/rm", "-rf", directory])
    }
}

struct SupervisorFixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
