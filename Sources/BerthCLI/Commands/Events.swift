import ArgumentParser
import BerthRuntime
import BerthRuntimeCLI
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "events", abstract: "Print a container's stats and OOM events as JSON lines.")
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print one stats object and exit.") var stats = false
    @Option(help: "Time between stats events (e.g. 5s, 500ms, 1m).") var interval: String = "5s"
    @Argument(help: "Container id.") var id: String

    func run() throws {
        let runtime = try global.prepare()
        if stats {
            print(try runtime.statsEvent(id: id).json())
            return
        }
        guard let every = Self.duration(interval), every > .zero else {
            throw CommandError(description: "events: --interval: \"\(interval)\" is not a positive duration such as 5s or 500ms")
        }
        // main.swift blocks these for run/exec; a stream must end on Ctrl-C or a plain kill.
        var set = sigset_t()
        sigemptyset(&set)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] { sigaddset(&set, signal) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        try runtime.streamEvents(id: id, interval: every) { event in
            print(event.json())
            fflush(nil)
        }
    }

    /// Go-style durations with one unit: "5s", "500ms", "2m", "1h", "1.5s".
    static func duration(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let value = Double(text.dropLast(suffix.count)), value.isFinite, value >= 0 else { return nil }
            return .nanoseconds(Int64(value * scale * 1e9))
        }
        return nil
    }
}

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep", abstract: "Remove leftover empty cgroups that no container of this root owns.", shouldDisplay: false)
    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("cgroup-parent"), help: "Relative cgroup whose children are swept.") var cgroupParent: String = "berth"

    func run() throws {
        for path in try global.prepare().sweepCgroups(parent: cgroupParent) { print(path) }
    }
}
