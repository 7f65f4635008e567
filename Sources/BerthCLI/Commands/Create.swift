import ArgumentParser
import BerthRuntime
import BerthRuntimeCLI

/// Options shared by `create` and `run`, named as runc names them.
struct CreateArguments: ParsableArguments {
    @Option(name: [.short, .long], help: "Path to the bundle (the directory holding config.json).")
    var bundle: String = "."

    @Option(name: .customLong("pid-file"), help: "Write the container's pid to this file.")
    var pidFile: String?

    @Option(name: .customLong("console-socket"), help: "AF_UNIX socket that receives the pty master when process.terminal is true.")
    var consoleSocket: String?

    @Option(name: .customLong("preserve-fds"), help: "Pass this many extra fds (3, 4, ...) to the container.")
    var preserveFDs: Int = 0

    @Flag(name: .customLong("no-pivot"), help: "Refused: berth always uses pivot_root.")
    var noPivot = false

    @Flag(name: .customLong("no-new-keyring"), help: "Accepted: berth never creates a session keyring.")
    var noNewKeyring = false

    @Argument(help: "Container id.")
    var id: String

    var settings: CreateSettings {
        CreateSettings(bundle: bundle, pidFile: pidFile, consoleSocket: consoleSocket, preserveFDs: preserveFDs, noPivot: noPivot, id: id)
    }

    func options() throws -> CreateOptions { try settings.options() }
}

struct CreateCommand: LifecycleCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a container; its process waits for `berth start`.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var arguments: CreateArguments

    var invocation: LifecycleInvocation { LifecycleInvocation(global: global.settings, command: .create(arguments.settings)) }
}
