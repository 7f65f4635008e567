import ArgumentParser
import BerthAgent
import BerthAPI
import BerthLinux
import BerthServer
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// berthd, the node agent. Argument parsing and wiring only: the agent is BerthAgent, the
/// socket API is BerthServer.
struct Berthd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berthd",
        abstract: "The Berth node agent: offers this machine's resources and runs tasks.",
        discussion: "Every option can also be set as BERTHD_<NAME> in the environment or in the --config JSON file.",
        version: "berthd \(Agent.version)")

    @Option(name: .customLong("state-dir"), help: "Checkpoints, sandboxes and images (default /var/lib/berth).")
    var stateDir: String?
    @Option(help: "The API's Unix socket (default /run/berth/berth.sock).")
    var socket: String?
    @Option(name: .customLong("metrics-address"), help: "HOST:PORT of the Prometheus endpoint (default 127.0.0.1:9110).")
    var metricsAddress: String?
    @Option(name: .customLong("statsd-address"), help: "HOST:PORT of a StatsD server to push to.")
    var statsdAddress: String?
    @Option(help: "A JSON config file.")
    var config: String?
    @Option(name: .customLong("runtime-root"), help: "State root of the task containers (default /run/berth).")
    var runtimeRoot: String?
    @Flag(help: "Log debug lines too.")
    var debug = false

    /// Runs the agent until SIGTERM or SIGINT.
    func serve() async throws {
        let environment = ChildProcess.inheritedEnvironment().reduce(into: [String: String]()) { result, entry in
            guard let eq = entry.firstIndex(of: "=") else { return }
            result[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
        }
        let settings = try Settings.resolve(
            flags: .init(stateDir: stateDir, socket: socket, metricsAddress: metricsAddress, statsdAddress: statsdAddress,
                         config: config, runtimeRoot: runtimeRoot, debug: debug),
            environment: environment)
        let log = AgentLog(debug: settings.debug)
        let binaries = Binaries.locate(environment: environment)
        let agent = try Agent(
            configuration: AgentConfiguration(
                stateDir: settings.stateDir, runtimeRoot: settings.runtimeRoot, berthPath: binaries.berth,
                supervisorPath: binaries.supervisor, logMaxBytes: settings.logMaxBytes, logKeep: settings.logKeep,
                inventory: settings.inventory, rootfsBackend: settings.rootfsBackend),
            log: log)
        try await agent.start()
        let info = await agent.info()
        log.info("berthd started", ["agent": info.id, "stateDir": settings.stateDir, "socket": settings.socket,
                                    "pid": String(getpid())])
        var serverConfiguration = APIServer.Configuration(socketPath: settings.socket, group: settings.socketGroup)
        serverConfiguration.maxBodyBytes = 1 << 20
        let server = APIServer(configuration: serverConfiguration, handler: AgentRoutes(agent: agent),
                               log: { log.info($0) })
        let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let metrics = try await Telemetry(settings: settings, eventLoops: eventLoops, agent: agent, log: log)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run(group: eventLoops) }
            metrics.start(in: &group)
            group.addTask {
                let signal = await Shutdown.waitForSignal()
                log.info("stopping on signal \(signal); tasks keep running under their supervisors")
            }
            try await group.next()
            group.cancelAll()
        }
        await metrics.relay.closeAll()
        try await eventLoops.shutdownGracefully()
        log.info("berthd stopped")
    }
}

/// berth and berth-supervisor are installed next to berthd (BERTHD_BERTH and
/// BERTHD_SUPERVISOR override).
struct Binaries {
    var berth: String
    var supervisor: String

    static func locate(environment: [String: String]) -> Binaries {
        let directory = FileSystem.parentDirectory(of: FileSystem.ownExecutable() ?? "/usr/local/bin/berthd")
        return Binaries(berth: environment["BERTHD_BERTH"] ?? directory + "/berth",
                        supervisor: environment["BERTHD_SUPERVISOR"] ?? directory + "/berth-supervisor")
    }
}

/// SIGTERM and SIGINT end berthd. They are blocked before any thread exists, so every thread
/// inherits the mask, and the main thread takes them with sigwait and tells `serve`.
enum Shutdown {
    nonisolated(unsafe) static var requests: AsyncStream<Int32>.Continuation?
    static let stream: AsyncStream<Int32> = {
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        requests = continuation
        return stream
    }()

    static func block() {
        var set = signals()
        pthread_sigmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
        _ = stream
    }

    static func waitForSignal() async -> Int32 {
        for await signal in stream { return signal }
        return SIGTERM
    }

    /// The main thread's loop: the first signal asks for a graceful stop, a second one ends
    /// berthd at once.
    static func takeSignals() -> Never {
        var set = signals()
        var requested = false
        while true {
            var received: Int32 = 0
            guard sigwait(&set, &received) == 0 else { continue }
            if requested { exit(1) }
            requested = true
            requests?.yield(received)
        }
    }

    private static func signals() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        return set
    }
}

func fail(_ message: String) -> Never {
    AgentLog().error("berthd: \(message)")
    exit(1)
}

Shutdown.block()
let command: Berthd
do {
    command = try Berthd.parse()
} catch {
    if Berthd.exitCode(for: error) == .success { Berthd.exit(withError: error) }
    fail(Berthd.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments")
}
Task.detached {
    do {
        try await command.serve()
        exit(0)
    } catch let error as APIError {
        fail(error.description)
    } catch {
        fail("\(error)")
    }
}
Shutdown.takeSignals()
