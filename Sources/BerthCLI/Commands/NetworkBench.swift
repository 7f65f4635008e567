import ArgumentParser
import BerthLinux
import BerthNetwork
#if canImport(Glibc)
import BerthRuntimeCLI
import Glibc
#endif

/// Hidden: times BerthNetwork's attach and detach directly (no container), for
/// Benchmarks/network/run.sh. Prints one JSON object with the percentiles in milliseconds.
struct NetworkBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network-bench", abstract: "Time network attach/detach (benchmark helper).", shouldDisplay: false)

    @Option(help: "How many attach/detach rounds.")
    var count = 200

    @Option(help: "host, none or bridge.")
    var mode = "bridge"

    @Option(help: "A published port per round (hostPort:containerPort), bridge mode only.")
    var publish: String?

    @Option(help: "Directory for the namespaces, checkpoints and files of the rounds.")
    var directory = "/run/berth/network-bench"

    func run() throws {
        guard let mode = NetworkMode(rawValue: mode) else { throw CommandError(description: "--mode: expected host, none or bridge") }
        var ports: [PortMapping] = []
        if let publish {
            let parts = publish.split(separator: ":").compactMap { Int($0) }
            guard parts.count == 2 else { throw CommandError(description: "--publish: expected HOSTPORT:CONTAINERPORT") }
            ports = [PortMapping(containerPort: parts[1], hostPort: parts[0])]
        }
        var settings = NetworkSettings()
        settings.namespaceDirectory = directory + "/netns"
        let networking = Networking(settings: settings)
        var attach: [Double] = [], detach: [Double] = []
        for round in 0..<count {
            let id = "bench-\(getpid())-\(round)"
            let request = AttachRequest(
                id: id, mode: mode, portMappings: ports, hostname: id,
                stateDirectory: directory + "/state/" + id, filesDirectory: directory + "/state/" + id)
            let clock = ContinuousClock()
            let start = clock.now
            let attachment = try Self.unwrap { () throws(NetworkError) in try networking.attach(request) }
            let attached = clock.now
            try Self.unwrap { () throws(NetworkError) in try networking.detach(attachment) }
            let detached = clock.now
            attach.append(Self.milliseconds(attached - start))
            detach.append(Self.milliseconds(detached - attached))
            rmdir(request.stateDirectory)
        }
        print("{\"mode\": \"\(mode.rawValue)\", \"count\": \(count), \"attach\": \(Self.summary(attach)), \"detach\": \(Self.summary(detach))}")
    }

    static func unwrap<T>(_ body: () throws(NetworkError) -> T) throws(CommandError) -> T {
        switch Result(catching: body) {
        case .success(let value): return value
        case .failure(let error): throw CommandError(description: error.description)
        }
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }

    /// p50 and p99 by nearest rank.
    static func summary(_ values: [Double]) -> String {
        let sorted = values.sorted()
        func rank(_ p: Double) -> Double {
            sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
        }
        func format(_ v: Double) -> String { String(Double(Int(v * 100)) / 100) }
        return "{\"p50_ms\": \(format(rank(0.5))), \"p99_ms\": \(format(rank(0.99)))}"
    }
}
