import BerthAPI
import BerthLinux
import BerthOCI
import BerthTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The machine and the binaries under test (BerthTestSupport), with what the daemon tests add.
enum Host {
    /// berthd starts slower than a runtime command: these tests allow each program 120 s.
    @discardableResult
    static func run(_ arguments: [String], input: String? = nil, timeout: Duration = .seconds(120)) throws -> ChildProcess.Output {
        try TestEnvironment.run(arguments, input: input, timeout: timeout)
    }

    /// Processes whose command line contains `fragment` (for leak checks).
    static func processes(matching fragment: String) -> [Int32] {
        ((try? FileSystem.listDirectory("/proc")) ?? []).compactMap { Int32($0) }.filter { pid in
            guard let bytes = try? FileSystem.readBytes("/proc/\(pid)/cmdline") else { return false }
            return String(decoding: bytes.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(fragment)
        }
    }

    /// Checks `condition` every 20 ms until it holds, for at most `timeout` (a bound against
    /// hangs on a loaded CI machine, not a timing claim).
    static func eventually(timeout: Duration = .seconds(60), _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try condition() { return true }
            usleep(20_000)
        }
        return try condition()
    }

    static func readLink(_ path: String) -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = Glibc.readlink(path, &buffer, buffer.count - 1)
        return count > 0 ? String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    }
}

/// A real berthd on a temporary socket and state dir, for one test.
final class Daemon: @unchecked Sendable {
    let directory: String
    let stateDir: String
    let socket: String
    let runtimeRoot: String
    let logPath: String
    let client: AgentClient
    private(set) var process: ProcessHandle?
    private let extraArguments: [String]

    /// The ids `berth list` shows under this daemon's runtime root (nil when it fails).
    var containersLeft: [String]? {
        struct Listed: Decodable { var id: String }
        guard let output = try? TestEnvironment.run([TestEnvironment.berthBinary, "--root", runtimeRoot, "list", "--format", "json"]),
              output.status == .exited(0) else { return nil }
        return (try? JSONDecoder().decode([Listed].self, from: Data(output.standardOutput)))?.map(\.id)
    }

    /// `config`: the text of a config file (`--config`), for what has no flag.
    init(_ label: String, arguments: [String] = [], stateDir: String? = nil, config: String? = nil) throws {
        directory = try TestEnvironment.temporaryDirectory(label)
        self.stateDir = stateDir ?? directory + "/state"
        socket = directory + "/berth.sock"
        runtimeRoot = directory + "/run"
        logPath = directory + "/berthd.log"
        client = AgentClient(socketPath: socket)
        var arguments = arguments
        if let config {
            try FileSystem.writeAtomically(Array(config.utf8), to: directory + "/berthd.json")
            arguments += ["--config", directory + "/berthd.json"]
        }
        extraArguments = arguments
        try start()
    }

    /// Starts berthd and waits until its socket answers.
    func start() throws {
        let logFile = try FileDescriptor.open(logPath, O_WRONLY | O_CREAT | O_APPEND, mode: 0o644)
        defer { logFile.close() }
        let binary = TestEnvironment.binDirectory + "/berthd"
        // Each test's berthd serves metrics on a port of its own (0: the kernel picks one).
        let metrics = extraArguments.contains("--metrics-address") ? [] : ["--metrics-address", "127.0.0.1:0"]
        let child = ChildProcess(path: binary, arguments: [binary, "--state-dir", stateDir, "--socket", socket,
                                                            "--runtime-root", runtimeRoot] + metrics + extraArguments)
        process = try child.spawn(stdout: logFile.rawValue, stderr: logFile.rawValue)
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if (try? client.call("GET", Routes.agent, as: AgentInfo.self)) != nil { return }
            if let status = try process?.wait(timeout: .milliseconds(20)) {
                process = nil
                throw DaemonError("berthd exited at start (\(status)): \(self.log())")
            }
        }
        throw DaemonError("berthd did not answer on \(socket) within 60 s: \(self.log())")
    }

    /// SIGTERM (graceful: tasks keep running) or SIGKILL, then wait for berthd to be gone.
    func stop(signal: Int32 = SIGTERM) throws {
        guard let process else { return }
        try? process.signal(signal)
        _ = try process.wait(timeout: .seconds(60))
        process.close()
        self.process = nil
    }

    func restart(after signal: Int32 = SIGKILL) throws {
        try stop(signal: signal)
        try start()
    }

    func log() -> String { (try? FileSystem.readString(logPath)) ?? "" }

    /// The metrics endpoint's port, from berthd's log line (the endpoint starts alongside the
    /// API socket, so it may come after the first answer).
    func metricsPort() throws -> Int {
        var port: Int?
        _ = Host.eventually {
            port = log().split(separator: "\n").last(where: { $0.contains("metrics on http://") })
                .flatMap { $0.split(separator: ":").last.flatMap { Int($0.split(separator: "/").first ?? "") } }
            return port != nil
        }
        guard let port else { throw DaemonError("berthd logged no metrics address: \(log())") }
        return port
    }

    // MARK: API shortcuts

    func launch(_ json: String, offer: String? = nil) throws -> TaskInfo {
        let definition = try OCIJSON.decode(TaskDefinition.self, from: Data(json.utf8), source: "test", rejectingUnknownFields: true)
        let query = offer.map { "?offerId=" + $0 } ?? ""
        return try client.call("POST", Routes.tasks + query, body: definition, as: TaskInfo.self)
    }

    func task(_ id: String) throws -> TaskInfo {
        try client.call("GET", Routes.task(id), as: TaskInfo.self)
    }

    /// Polls until the task is in `state` (or any terminal state when `state` is nil). A task
    /// waited for in a passing state must stay in it until the test moves it on (a `go` file,
    /// a kill): polling can miss a state that lasts a moment.
    @discardableResult
    func wait(_ id: String, for state: TaskState? = nil, timeout: Duration = .seconds(90)) throws -> TaskInfo {
        let deadline = ContinuousClock.now + timeout
        var last: TaskInfo?
        while ContinuousClock.now < deadline {
            let info = try task(id)
            last = info
            if let state, info.status.state == state { return info }
            if state == nil, info.status.state.isTerminal { return info }
            usleep(50_000)
        }
        throw DaemonError("task \(id) did not reach \(state?.rawValue ?? "a terminal state") in \(timeout): last \(String(describing: last?.status))\n\(log())")
    }

    /// Waits until the task's stdout holds `text`: how a task says it is ready (a trap is set, a
    /// server listens), which RUNNING does not say.
    func waitForOutput(_ id: String, containing text: String) throws {
        var last = ""
        let seen = Host.eventually(timeout: .seconds(90)) {
            last = String(decoding: (try? client.callRaw("GET", Routes.taskLogs(id))) ?? [], as: UTF8.self)
            return last.contains(text)
        }
        if !seen { throw DaemonError("task \(id) never printed \"\(text)\": \(last)\n\(log())") }
    }

    /// A raw request, for bad-input tests: the status and the body.
    func raw(_ method: String, _ path: String, body: String?) throws -> (Int, String) {
        let fd = try UnixSocket.connect(socket)
        defer { fd.close() }
        var request = "\(method) \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        if let body { request += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        request += "\r\n" + (body ?? "")
        try fd.writeAll(Array(request.utf8))
        let answer = String(decoding: try fd.readAll(), as: UTF8.self)
        let status = Int(answer.split(separator: " ").dropFirst().first ?? "") ?? 0
        let payload = answer.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        return (status, payload)
    }

    /// Kills every task container and berthd, and removes the directory. Tasks are killed
    /// through berthd first, so it tears their networks down as it would in production.
    func cleanUp() {
        if process != nil, let tasks = try? client.call("GET", Routes.tasks, as: [TaskInfo].self) {
            for task in tasks where !task.status.state.isTerminal {
                _ = try? client.call("POST", Routes.killTask(task.definition.id), body: KillRequest(graceSeconds: 0), as: TaskInfo.self)
            }
            let deadline = ContinuousClock.now + .seconds(15)
            while ContinuousClock.now < deadline {
                let live = ((try? client.call("GET", Routes.tasks, as: [TaskInfo].self)) ?? []).filter { !$0.status.state.isTerminal }
                let networks = (try? FileSystem.listDirectory(stateDir + "/networks")) ?? []
                if live.isEmpty && networks.isEmpty { break }
                usleep(100_000)
            }
        }
        for id in (try? FileSystem.listDirectory(runtimeRoot)) ?? [] {
            _ = try? Host.run([TestEnvironment.binDirectory + "/berth", "--root", runtimeRoot, "delete", "--force", id])
        }
        try? stop(signal: SIGKILL)
        for pid in Host.processes(matching: directory) { kill(pid, SIGKILL) }
        _ = try? Host.run(["/bin/sh", "-c", "grep -o ' \(directory)[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l"])
        try? FileSystem.removeTree(directory)
    }
}

struct DaemonError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
