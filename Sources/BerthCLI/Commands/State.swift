import ArgumentParser
import BerthRuntimeCLI
struct StateCommand: LifecycleCommand {
    static let configuration = CommandConfiguration(commandName: "state", abstract: "Print a container's OCI state as JSON.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Container id.") var id: String

    var invocation: LifecycleInvocation { LifecycleInvocation(global: global.settings, command: .state(id: id)) }
}
