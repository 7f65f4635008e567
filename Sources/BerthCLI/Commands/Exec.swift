import ArgumentParser
import BerthLinux
import BerthOCI
import BerthRuntime
import BerthRuntimeCLI

struct ExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a new process inside a running container.")

    @OptionGroup var global: GlobalOptions

    @Option(name: [.short, .long], help: "process.json with the whole process (instead of the flags below).")
    var process: String?
    @Option(name: .customLong("console-socket"), help: "AF_UNIX socket that receives the pty master.")
    var consoleSocket: String?
    @Option(name: .long, help: "Working directory inside the container.")
    var cwd: String?
    @Option(name: [.short, .long], help: "Environment variable KEY=VALUE (repeatable).")
    var env: [String] = []
    @Flag(name: [.short, .long], help: "Give the process a terminal.")
    var tty = false
    @Option(name: [.short, .long], help: "uid[:gid] to run as.")
    var user: String?
    @Option(name: [.customShort("g"), .customLong("additional-gids")], help: "Additional group id (repeatable).")
    var additionalGids: [UInt32] = []
    @Option(name: [.short, .customLong("cap")], help: "Add a capability (repeatable).")
    var capabilities: [String] = []
    @Flag(name: .customLong("no-new-privs"), help: "Set no_new_privileges.")
    var noNewPrivileges = false
    @Flag(name: [.short, .long], help: "Return once the process has started.")
    var detach = false
    @Option(name: .customLong("pid-file"), help: "Write the new process's pid here.")
    var pidFile: String?
    @Option(name: .customLong("preserve-fds"), help: "Pass this many extra fds (3, 4, ...).")
    var preserveFDs: Int = 0
    @Option(name: .customLong("process-label"), help: "Refused: SELinux is not supported.")
    var processLabel: String?
    @Option(name: .customLong("apparmor"), help: "Refused: AppArmor is not supported.")
    var apparmor: String?
    @Option(name: .customLong("cgroup"), help: "Refused: the process joins the container's cgroup.")
    var cgroup: String?
    @Flag(name: .customLong("ignore-paused"), help: "Allow exec into a paused container.")
    var ignorePaused = false

    @Argument(help: "Container id.") var id: String
    @Argument(parsing: .captureForPassthrough, help: "Command and arguments.") var command: [String] = []

    func run() throws {
        let runtime = try global.prepare()
        if processLabel != nil { throw CommandError(description: "exec: --process-label: not supported by berth (no SELinux)") }
        if apparmor != nil { throw CommandError(description: "exec: --apparmor: not supported by berth (no AppArmor)") }
        if cgroup != nil { throw CommandError(description: "exec: --cgroup: not supported by berth") }
        guard preserveFDs >= 0 else { throw CommandError(description: "exec: --preserve-fds: must not be negative") }
        var options = ExecOptions()
        options.consoleSocket = consoleSocket
        options.detach = detach
        options.pidFile = pidFile
        options.preserveFDs = preserveFDs
        options.ignorePaused = ignorePaused
        if let process {
            if !command.isEmpty { throw CommandError(description: "exec: give either --process or a command, not both") }
            options.process = try OCIJSON.load(Spec.Process.self, path: process, source: "process.json")
        } else {
            guard !command.isEmpty else { throw CommandError(description: "exec: missing the command to run") }
            var overrides = ExecOptions.Overrides()
            overrides.arguments = command.first == "--" ? Array(command.dropFirst()) : command
            overrides.environment = env
            overrides.cwd = cwd
            overrides.terminal = tty
            overrides.additionalGids = additionalGids
            overrides.addCapabilities = capabilities
            overrides.noNewPrivileges = noNewPrivileges
            if let user {
                let parts = user.split(separator: ":", omittingEmptySubsequences: false)
                guard parts.count <= 2, let uid = UInt32(parts[0]), parts.count == 1 || UInt32(parts[1]) != nil else {
                    throw CommandError(description: "exec: --user: \"\(user)\" is not uid[:gid]")
                }
                overrides.uid = uid
                overrides.gid = parts.count == 2 ? UInt32(parts[1]) : nil
            }
            options.overrides = overrides
        }
        let status = try runtime.exec(id: id, options: options)
        if status != 0 { throw ExitCode(status) }
    }
}
