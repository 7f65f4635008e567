import ArgumentParser

struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a stopped container (or, with --force, any container).")
    @OptionGroup var global: GlobalOptions
    @Flag(name: [.short, .long], help: "Kill the container's processes first.")
    var force = false
    @Argument(help: "Container id.") var id: String

    func run() throws {
        try global.prepare().delete(id: id, force: force)
    }
}
