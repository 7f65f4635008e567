import ArgumentParser
import BerthRuntime
import BerthRuntimeCLI

struct RunCommand: LifecycleCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Create and start a container; in the foreground, its exit status becomes berth's.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var arguments: CreateArguments

    @Flag(name: [.short, .long], help: "Return once the container has started.")
    var detach = false

    @Flag(help: "Keep the container's state after it exits (delete it yourself).")
    var keep = false

    @Option(name: .customLong("gate-fd"), help: ArgumentHelp(
        "Wait for \"b\" on this fd before reading the bundle, and for \"g\" before the container's process starts; at its end first, remove what was made and exit 75 (berthd's supervisor uses this).",
        valueName: "fd"))
    var gateFD: String?

    var invocation: LifecycleInvocation {
        LifecycleInvocation(global: global.settings, command: .run(arguments.settings, detach: detach, keep: keep, gateFD: gateFD))
    }
}
