import ArgumentParser
import BerthLinux
import BerthOCI
import BerthRuntimeCLI

struct SpecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "spec", abstract: "Write a default config.json to edit.")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .long], help: "Bundle directory to write config.json into.") var bundle: String = "."

    func run() throws {
        _ = try global.prepare()
        let path = bundle + "/config.json"
        if FileSystem.exists(path) {
            throw CommandError(description: "spec: \(path) exists: remove it first")
        }
        try FileSystem.writeAtomically(try OCIJSON.encodeBytes(Spec.defaultSpec()), to: path)
    }
}
