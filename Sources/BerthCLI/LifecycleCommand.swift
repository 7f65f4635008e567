import ArgumentParser
import BerthRuntimeCLI

/// The ArgumentParser side: each lifecycle command says what it read.
protocol LifecycleCommand: ParsableCommand {
    var invocation: LifecycleInvocation { get }
}

extension LifecycleCommand {
    func run() throws { try invocation.perform() }
}
