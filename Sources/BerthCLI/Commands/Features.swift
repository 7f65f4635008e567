import ArgumentParser
import BerthOCI
import BerthRuntime

struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "features", abstract: "Print what this build of berth supports (runtime-spec features JSON).")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        _ = try global.prepare()
        print(try OCIJSON.encodeString(Runtime.features()), terminator: "")
    }
}
