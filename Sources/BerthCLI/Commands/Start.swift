import ArgumentParser
import BerthRuntimeCLI

struct StartCommand: LifecycleCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start a created container.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Container id.") var id: String

    var invocation: LifecycleInvocation { LifecycleInvocation(global: global.settings, command: .start(id: id)) }
}
