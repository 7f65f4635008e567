import ArgumentParser
import BerthAPI
import BerthLinux
import BerthOCI
import BerthRuntime
#if canImport(Glibc)
import Glibc
#endif

/// The options runc takes before the command; podman, conmon and containerd pass them.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Directory for container state.")
    var root: String = StateStore.defaultRoot

    @Option(help: "Also write errors (and, with --debug, progress) to this file.")
    var log: String?

    @Option(name: .customLong("log-format"), help: "Format of the log file: text or json.")
    var logFormat: String = "text"

    @Flag(help: "Log progress, not only errors.")
    var debug = false

    @Flag(name: .customLong("systemd-cgroup"), help: "Refused: berth drives cgroupfs directly.")
    var systemdCgroup = false

    @Option(help: "Accepted for compatibility: berth runs as root (false/auto).")
    var rootless: String?

    @Option(help: "berthd's API socket, for the agent, offers and task commands (or BERTH_SOCKET).")
    var socket: String?

    /// The client of berthd at --socket, else BERTH_SOCKET, else the default path.
    var agentClient: AgentClient {
        AgentClient(socketPath: socket ?? ProcessEnvironment.value("BERTH_SOCKET") ?? AgentClient.defaultSocket)
    }

    var settings: GlobalSettings {
        GlobalSettings(root: root, log: log, logFormat: logFormat, debug: debug, systemdCgroup: systemdCgroup, rootless: rootless)
    }

    /// Validates the global options and opens the log. Every command calls this first.
    func prepare() throws -> Runtime { try settings.prepare() }
}

/// The global options as plain values: what both parsers (ArgumentParser and the lifecycle
/// fast path) hand to the commands.
struct GlobalSettings: Equatable {
    var root = StateStore.defaultRoot
    var log: String?
    var logFormat = "text"
    var debug = false
    var systemdCgroup = false
    var rootless: String?

    func prepare() throws -> Runtime {
        guard logFormat == "text" || logFormat == "json" else {
            throw CommandError(description: "--log-format: \"\(logFormat)\" is not text or json")
        }
        if systemdCgroup {
            throw CommandError(description: "--systemd-cgroup: not supported by berth (it drives cgroupfs directly; use cgroup_manager = \"cgroupfs\")")
        }
        if let rootless, rootless != "false", rootless != "auto" {
            throw CommandError(description: "--rootless: \"\(rootless)\" is not supported: berth runs as root")
        }
        CommandLog.shared.configure(path: log, json: logFormat == "json", debug: debug)
        return Runtime(store: StateStore(root: root), log: CommandLog.shared.runtimeLog)
    }
}

/// Errors go to stderr as one line, and to --log when given (JSON lines for containerd/conmon).
package final class CommandLog: @unchecked Sendable {
    package static let shared = CommandLog()
    private var path: String?
    private var file: FileDescriptor?
    private var json = false
    private var debug = false

    func configure(path: String?, json: Bool, debug: Bool) {
        self.json = json
        self.debug = debug
        self.path = path
    }

    /// The --log file, made at its first line: a run with nothing to say makes no file (making
    /// one is a good part of writing it on some filesystems).
    private func logFile() -> FileDescriptor? {
        if file == nil, let path {
            file = try? FileDescriptor.open(path, O_WRONLY | O_CREAT | O_APPEND, mode: 0o644)
            self.path = nil
        }
        return file
    }

    var runtimeLog: RuntimeLog {
        RuntimeLog { [self] message in
            if debug { write(level: "debug", message) }
        }
    }

    package func error(_ message: String) {
        let line = "berth: " + message.replacing("\n", with: " ") + "\n"
        _ = try? FileDescriptor.standardError.writeAll(Array(line.utf8))
        write(level: "error", message)
    }

    private func write(level: String, _ message: String) {
        guard let file = logFile() else {
            if level == "debug" {
                _ = try? FileDescriptor.standardError.writeAll(Array("berth: \(message)\n".utf8))
            }
            return
        }
        let time = Timestamp.now()
        let line: String
        if json {
            let object = ["level": level, "msg": message, "time": time]
            line = ((try? OCIJSON.encodeString(object, pretty: false)) ?? "{}") + "\n"
        } else {
            // logfmt, as runc writes it: quotes and backslashes in the message are escaped.
            let escaped = message.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
            line = "time=\"\(time)\" level=\(level) msg=\"\(escaped)\"\n"
        }
        _ = try? file.writeAll(Array(line.utf8))
    }
}

enum ProcessEnvironment {
    static func value(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        return String(cString: raw)
    }
}
