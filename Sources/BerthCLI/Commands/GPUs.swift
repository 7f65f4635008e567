import ArgumentParser
import BerthLinux
import BerthOCI
import BerthRuntime
import BerthRuntimeCLI

struct GPUsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpus",
        abstract: "List the machine's GPUs (the indices org.berth.gpus names).")

    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("discovery-root"), help: "Look for /dev and /proc under this directory instead of /.")
    var discoveryRoot: String = "/"
    @Option(name: [.short, .long], help: "table or json.")
    var format: String = "table"

    func run() throws {
        guard format == "table" || format == "json" else {
            throw CommandError(description: "gpus: --format: \"\(format)\" is not table or json")
        }
        _ = try global.prepare()
        let inventory = GPUInventory.scan(root: discoveryRoot)
        // The one line saying why there are none; stdout stays the listing alone.
        if let note = inventory.note { _ = try? FileDescriptor.standardError.writeAll(Array("berth: \(note)\n".utf8)) }
        if format == "json" {
            print(try OCIJSON.encodeString(inventory.gpus, pretty: false))
            return
        }
        let rows = [["INDEX", "VENDOR", "MINOR", "UUID", "NAME", "MEMORY", "DEVICES"]] + inventory.gpus.map { gpu in
            [String(gpu.index), gpu.vendor.rawValue, String(gpu.minor), gpu.uuid ?? "-", gpu.name ?? "-",
             gpu.memoryBytes.map { "\($0 / (1024 * 1024)) MiB" } ?? "-", gpu.devicePaths.joined(separator: ",")]
        }
        print(Table.render(rows), terminator: "")
    }
}
