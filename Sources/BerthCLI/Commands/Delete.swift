import ArgumentParser
import BerthRuntimeCLI

struct DeleteCommand: LifecycleCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a stopped container (or, with --force, any container).")
    @OptionGroup var global: GlobalOptions
    @Flag(name: [.short, .long], help: "Kill the container's processes first.")
    var force = false
    @Argument(help: "Container id.") var id: String

    var invocation: LifecycleInvocation { LifecycleInvocation(global: global.settings, command: .delete(id: id, force: force)) }
}
