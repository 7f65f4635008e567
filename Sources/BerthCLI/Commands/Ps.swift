import ArgumentParser
import BerthOCI
import BerthRuntimeCLI

struct PsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List the processes of a container.")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .long], help: "table or json.") var format: String = "table"
    @Argument(help: "Container id.") var id: String
    @Argument(parsing: .captureForPassthrough, help: "Refused: berth prints its own columns.")
    var psArguments: [String] = []

    func run() throws {
        guard format == "table" || format == "json" else {
            throw CommandError(description: "ps: --format: \"\(format)\" is not table or json")
        }
        if !psArguments.isEmpty {
            throw CommandError(description: "ps: options for ps(1) (\(psArguments.joined(separator: " "))) are not supported by berth")
        }
        let processes = try global.prepare().processes(id: id)
        if format == "json" {
            print(try OCIJSON.encodeString(processes.map(\.pid), pretty: false))
        } else {
            let rows = [["UID", "PID", "PPID", "STAT", "CMD"]] + processes.map {
                [String($0.uid), String($0.pid), String($0.parentPID), $0.state, $0.command]
            }
            print(Table.render(rows), terminator: "")
        }
    }
}
