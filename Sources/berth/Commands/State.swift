import ArgumentParser
import BerthOCI

struct StateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "state", abstract: "Print a container's OCI state as JSON.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Container id.") var id: String

    func run() throws {
        let state = try global.prepare().stateReport(id: id)
        print(try OCIJSON.encodeString(state), terminator: "")
    }
}
