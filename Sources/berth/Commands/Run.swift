import ArgumentParser
import BerthRuntime

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Create and start a container; in the foreground, its exit status becomes berth's.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var arguments: CreateArguments

    @Flag(name: [.short, .long], help: "Return once the container has started.")
    var detach = false

    @Flag(help: "Keep the container's state after it exits (delete it yourself).")
    var keep = false

    func run() throws {
        let runtime = try global.prepare()
        let status = try runtime.run(id: arguments.id, options: try arguments.options(), detach: detach, keep: keep)
        if status != 0 { throw ExitCode(status) }
    }
}
