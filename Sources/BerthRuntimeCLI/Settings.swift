import BerthLinux
import BerthOCI
import BerthRuntime
#if canImport(Glibc)
import Glibc
#endif

/// The global options as plain values: what both parsers (ArgumentParser and the lifecycle
/// fast path) hand to the commands.
package struct GlobalSettings: Equatable {
    package var root = StateStore.defaultRoot
    package var log: String?
    package var logFormat = "text"
    package var debug = false
    package var systemdCgroup = false
    package var rootless: String?

    package init() {}

    package init(root: String, log: String?, logFormat: String, debug: Bool, systemdCgroup: Bool, rootless: String?) {
        self.root = root
        self.log = log
        self.logFormat = logFormat
        self.debug = debug
        self.systemdCgroup = systemdCgroup
        self.rootless = rootless
    }

    package func prepare() throws -> Runtime {
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
        let line = "berth: " + ASCII.replacing("\n", with: " ", in: message) + "\n"
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
            let escaped = ASCII.replacing("\"", with: "\\\"", in: ASCII.replacing("\\", with: "\\\\", in: message))
            line = "time=\"\(time)\" level=\(level) msg=\"\(escaped)\"\n"
        }
        _ = try? file.writeAll(Array(line.utf8))
    }
}

package enum ProcessEnvironment {
    package static func value(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        return String(cString: raw)
    }
}

/// `create` and `run`'s options as plain values, whichever parser read them.
package struct CreateSettings: Equatable {
    package var bundle = "."
    package var pidFile: String?
    package var consoleSocket: String?
    package var preserveFDs = 0
    package var noPivot = false
    package var id: String

    package init(id: String) { self.id = id }

    package init(bundle: String, pidFile: String?, consoleSocket: String?, preserveFDs: Int, noPivot: Bool, id: String) {
        self.bundle = bundle
        self.pidFile = pidFile
        self.consoleSocket = consoleSocket
        self.preserveFDs = preserveFDs
        self.noPivot = noPivot
        self.id = id
    }

    package func options() throws -> CreateOptions {
        if noPivot { throw CommandError(description: "--no-pivot: not supported by berth: it always uses pivot_root") }
        guard preserveFDs >= 0 else { throw CommandError(description: "--preserve-fds: must not be negative") }
        return CreateOptions(bundle: bundle, pidFile: pidFile, consoleSocket: consoleSocket, preserveFDs: preserveFDs)
    }
}

/// A failure with its own exit status (for example `berth exec` passing its process's through).
package struct CommandError: Error, CustomStringConvertible {
    package var description: String
    package var status: Int32 = 1

    package init(description: String, status: Int32 = 1) {
        self.description = description
        self.status = status
    }
}

/// Ends the command quietly with this exit status (`run` passing its container's through).
package struct CommandExit: Error {
    package var status: Int32
    package init(_ status: Int32) { self.status = status }
}
