import ArgumentParser
import BerthOCI
import BerthRuntimeCLI
import FoundationEssentials

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List containers.", aliases: ["ls"])
    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .long], help: "table or json.") var format: String = "table"
    @Flag(name: [.short, .long], help: "Print only the ids.") var quiet = false

    func run() throws {
        guard format == "table" || format == "json" else {
            throw CommandError(description: "list: --format: \"\(format)\" is not table or json")
        }
        let containers = try global.prepare().list()
        if quiet {
            containers.forEach { print($0.id) }
        } else if format == "json" {
            print(try OCIJSON.encodeString(containers, pretty: false))
        } else {
            let rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]] + containers.map {
                [$0.id, String($0.pid), $0.status, $0.bundle, $0.created, $0.owner]
            }
            print(Table.render(rows), terminator: "")
        }
    }
}

/// Left-aligned columns separated by at least two spaces, like `runc list`.
enum Table {
    static func render(_ rows: [[String]]) -> String {
        guard let width = rows.first?.count else { return "" }
        let widths = (0..<width).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == width - 1 ? cell : cell + String(repeating: " ", count: widths[index] + 3 - cell.count)
            }.joined() + "\n"
        }.joined()
    }
}
