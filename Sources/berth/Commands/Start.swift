import ArgumentParser

struct StartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start a created container.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Container id.") var id: String

    func run() throws {
        try global.prepare().start(id: id)
    }
}
