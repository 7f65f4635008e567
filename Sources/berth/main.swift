import BerthRuntime
import BerthRuntimeCLI
#if canImport(Glibc)
import Glibc
#endif

// berth runs the lifecycle commands podman, conmon and containerd call for every container, in
// their plain forms, and hands anything else to berth-cli beside it: this binary links nothing
// more, so each start relocates and maps as little as it can. Signals for `run` in the
// foreground must wait in a signalfd: block them before any other thread exists, so every
// thread inherits the mask (berth-cli blocks the same ones).
Foreground.blockForwardedSignals()

let arguments = Array(CommandLine.arguments.dropFirst())
guard let invocation = LifecycleInvocation(fastParsing: arguments) else {
    CommandLog.shared.error(WholeCommandLine.exec(arguments: arguments))
    exit(1)
}
do {
    try invocation.perform()
} catch let exit as CommandExit {
    Glibc.exit(exit.status)
} catch let error as CommandError {
    CommandLog.shared.error(error.description)
    Glibc.exit(error.status)
} catch {
    CommandLog.shared.error(String(describing: error))
    Glibc.exit(1)
}
