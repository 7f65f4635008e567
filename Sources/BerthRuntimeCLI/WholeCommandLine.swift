import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// Everything but the plain lifecycle commands lives in berth-cli, installed beside berth:
/// help, every other command, and the forms only ArgumentParser reads.
package enum WholeCommandLine {
    package static let executableName = "berth-cli"

    /// Replaces this process with berth-cli, given the same arguments; returns only when that
    /// fails, with the reason.
    package static func exec(arguments: [String]) -> String {
        let directory = FileSystem.ownExecutable().map { FileSystem.parentDirectory(of: $0) } ?? "."
        let path = directory + "/" + executableName
        let argv = [CommandLine.arguments.first ?? "berth"] + arguments
        var cArguments = argv.map { strdup($0) } + [nil]
        execv(path, &cArguments)
        let error = Errno.current
        for argument in cArguments { free(argument) }
        return "cannot run \(path) (the commands other than create, run, start, state, kill and delete): \(error)"
    }
}
