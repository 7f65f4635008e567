import ArgumentParser
import BerthLinux

struct KillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kill", abstract: "Send a signal to a container's process (default SIGTERM).")
    @OptionGroup var global: GlobalOptions

    @Flag(name: [.short, .long], help: "Send the signal to every process in the container's cgroup.")
    var all = false

    @Argument(help: "Container id.") var id: String
    @Argument(help: "Signal name or number.") var signal: String = "SIGTERM"

    func run() throws {
        guard let number = Signals.parse(signal) else {
            throw CommandError(description: "kill: \"\(signal)\" is not a signal")
        }
        try global.prepare().kill(id: id, signal: number, all: all)
    }
}
