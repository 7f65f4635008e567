import ArgumentParser
import BerthLinux
import BerthMetrics
import BerthRuntime
#if canImport(Glibc)
import BerthRuntimeCLI
import Glibc
#endif

/// Hidden: prints the /metrics exposition of every container under --root, read straight from
/// their cgroups. For benchmarks (`--repeat`, `--stats`) and for looking at what berthd would show.
struct MetricsScrapeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics-scrape", abstract: "Print the metrics exposition of every container (for benchmarks).",
        shouldDisplay: false)

    @OptionGroup var global: GlobalOptions
    @Option(help: "Scrape this many times (the last output is printed).") var `repeat`: Int = 1
    @Flag(help: "Print scrapes, bytes, wall and CPU milliseconds per scrape to stderr.") var stats = false
    @Flag(help: "Do not print the exposition.") var quiet = false

    func run() throws {
        guard (1...100_000).contains(`repeat`) else {
            throw CommandError(description: "--repeat: \(`repeat`) is not between 1 and 100000")
        }
        let runtime = try global.prepare()
        var targets: [MetricTarget] = []
        for id in try runtime.store.ids() {
            guard let info = try? runtime.metricsInfo(id: id) else { continue }
            targets.append(MetricTarget(taskID: id, containerID: id, cgroup: info.cgroup,
                                        initPID: info.initPID, startTime: info.created))
        }
        let wallStart = ContinuousClock.now
        let cpuStart = Self.cpuSeconds()
        var page: [UInt8] = []
        for _ in 0..<`repeat` {
            var exposition = Exposition()
            MetricsCollector.writeContainers(targets, into: &exposition)
            NodeMetrics.write(diskPaths: [global.root], into: &exposition)
            page = exposition.render()
        }
        let wall = ContinuousClock.now - wallStart
        let cpu = Self.cpuSeconds() - cpuStart
        if !quiet { try FileDescriptor.standardOutput.writeAll(page) }
        if stats {
            let wallMS = (Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18) * 1000 / Double(`repeat`)
            let cpuMS = cpu * 1000 / Double(`repeat`)
            let line = "containers=\(targets.count) scrapes=\(`repeat`) bytes=\(page.count) wall_ms=\(wallMS) cpu_ms=\(cpuMS)\n"
            try FileDescriptor.standardError.writeAll(Array(line.utf8))
        }
    }

    /// User plus system CPU time of this process, in seconds.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
