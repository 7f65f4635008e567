import ArgumentParser
import BerthAPI
import BerthLinux
import BerthOCI
import BerthRuntime
#if canImport(Glibc)
import BerthRuntimeCLI
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
