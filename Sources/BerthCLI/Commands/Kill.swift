import ArgumentParser
import BerthRuntimeCLI
struct KillCommand: LifecycleCommand {
    static let configuration = CommandConfiguration(commandName: "kill", abstract: "Send a signal to a container's process (default SIGTERM).")
    @OptionGroup var global: GlobalOptions

    @Flag(name: [.short, .long], help: "Send the signal to every process in the container's cgroup.")
    var all = false

    @Argument(help: "Container id.") var id: String
    @Argument(help: "Signal name or number.") var signal: String = "SIGTERM"

    var invocation: LifecycleInvocation { LifecycleInvocation(global: global.settings, command: .kill(id: id, signal: signal, all: all)) }
}
