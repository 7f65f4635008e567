import ArgumentParser
import BerthAPI
import BerthLinux
import BerthOCI
import BerthRuntime

package struct Berth: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "Run OCI containers (a runc-compatible runtime).",
        version: BerthVersion.string,
        subcommands: [
            SpecCommand.self, CreateCommand.self, StartCommand.self, RunCommand.self,
            StateCommand.self, KillCommand.self, DeleteCommand.self, ListCommand.self,
            PsCommand.self, ExecCommand.self, PauseCommand.self, ResumeCommand.self,
            FeaturesCommand.self, GPUsCommand.self, UpdateCommand.self, EventsCommand.self,
            SweepCommand.self, ImageCommand.self, AgentCommand.self, OffersCommand.self, TaskCommand.self,
            MetricsScrapeCommand.self,
            NetworkBenchCommand.self,
        ]
    )

    @OptionGroup var global: GlobalOptions

    package init() {}

    /// Errors from Berth's own layers print as they are; anything else is an argument error.
    package static func isOwnError(_ error: Error) -> Bool {
        error is SystemError || error is OCIError || error is ChildPathError || error is Errno
            || error is RuntimeError || error is APIClientError || error is APIError
    }
}

enum BerthVersion {
    static let string = "berth version 0.1.0\nspec: \(BerthOCI.ociVersion)"
}
