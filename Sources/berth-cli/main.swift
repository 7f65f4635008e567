import ArgumentParser
import BerthCLI
import BerthRuntime
import BerthRuntimeCLI
#if canImport(Glibc)
import Glibc
#endif

// The whole command line; `berth` runs its lifecycle commands itself and execs this for the
// rest. Signals for `run`/`exec` in the foreground must wait in a signalfd: block them before any
// other thread exists, so every thread inherits the mask.
Foreground.blockForwardedSignals()

do {
    if let invocation = LifecycleInvocation(fastParsing: Array(CommandLine.arguments.dropFirst())) {
        try invocation.perform()
    } else {
        var command = try Berth.parseAsRoot()
        try command.run()
    }
} catch let exit as ExitCode {
    Glibc.exit(exit.rawValue)
} catch let exit as CommandExit {
    Glibc.exit(exit.status)
} catch let error as CommandError {
    CommandLog.shared.error(error.description)
    Glibc.exit(error.status)
} catch where Berth.isOwnError(error) {
    CommandLog.shared.error(String(describing: error))
    Glibc.exit(1)
} catch {
    // --help and --version print as usual; argument errors become one line, no usage dump.
    if Berth.exitCode(for: error) == .success { Berth.exit(withError: error) }
    let message = Berth.message(for: error).split(separator: "\n").first.map(String.init)
    CommandLog.shared.error(message ?? "invalid arguments")
    Glibc.exit(1)
}
