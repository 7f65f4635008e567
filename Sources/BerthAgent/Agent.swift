import BerthAsync
import BerthAPI
import BerthImages
import BerthLinux
import BerthMetrics
import BerthMetricsServer
import BerthNetwork
import BerthRuntime
import FoundationEssentials

/// The node agent: it knows the machine, offers its resources, launches tasks through their
/// supervisors, reports every state change, and finds its tasks again after a restart.
/// All of its state lives in this actor; slow work (processes, images) runs on other threads.
public actor Agent {
    public static let version = "0.2.0"

    let configuration: AgentConfiguration
    let log: AgentLog
    let inventory: Inventory
    let runtime: Runtime
    let imageStore: ImageStore
    let launcher: SupervisorLauncher
    let network: TaskNetwork
    let agentID: String
    let bootID: String
    let startedAt: Double

    var book: OfferBook
    var records: [String: TaskRecord] = [:]
    var monitor: TaskMonitor?
    var subscribers: [Int: AsyncStream<TaskStatus>.Continuation] = [:]
    var nextSubscriber = 0
    var healthChecks: [String: Task<Void, Never>] = [:]
    /// Attachments being made, by network id: tasks of a group wait for the first one's.
    var attaching: [String: Task<Result<NetworkAttachment?, APIError>, Never>] = [:]
    var metrics: AgentMetrics?
    /// Per container run: its cgroup and init, read from the runtime's state once, not per scrape.
    var metricsInfo: [String: ContainerMetricsInfo] = [:]
    var relay: StatsDRelay?
    /// How long the last recovery took, for `berth agent info` and the metrics.
    public internal(set) var recoverySeconds: Double = 0

    /// Detects the machine and prepares the state dir; `start()` then recovers tasks.
    public init(configuration: AgentConfiguration, log: AgentLog) throws(APIError) {
        self.configuration = configuration
        self.log = log
        do {
            for dir in [configuration.stateDir, TaskLayout.tasksDirectory(stateDir: configuration.stateDir), configuration.runtimeRoot] {
                try FileSystem.createDirectory(dir, mode: 0o711)
            }
        } catch {
            throw APIError(status: 500, message: "state dir: \(error)")
        }
        do {
            inventory = try Inventory.detect(stateDir: configuration.stateDir, config: configuration.inventory,
                                             sources: configuration.inventorySources)
        } catch {
            throw APIError(status: 500, message: "inventory: \(error)")
        }
        startedAt = now()
        bootID = ProcFS.bootID()
        agentID = Agent.loadOrCreateID(stateDir: configuration.stateDir, hostname: inventory.hostname)
        runtime = Runtime(store: StateStore(root: configuration.runtimeRoot), log: .silent)
        imageStore = ImageStore(root: configuration.imageStoreRoot)
        launcher = SupervisorLauncher(
            supervisorPath: configuration.supervisorPath, berthPath: configuration.berthPath,
            runtimeRoot: configuration.runtimeRoot, logMaxBytes: configuration.logMaxBytes, logKeep: configuration.logKeep)
        network = TaskNetwork(networking: Networking(settings: configuration.network), stateDir: configuration.stateDir)
        book = OfferBook(
            agentId: agentID, hostname: inventory.hostname, attributes: inventory.attributes,
            total: try inventory.totalResources(), gpuIndices: inventory.gpuIndices,
            offerIdPrefix: "\(agentID)-\(UInt64(startedAt * 1000))")
    }

    /// The agent id is kept in the state dir, so a restarted berthd is the same agent.
    private static func loadOrCreateID(stateDir: String, hostname: String) -> String {
        let path = stateDir + "/agent-id"
        if let text = try? FileSystem.readString(path) {
            let id = text.trimmingCharacters(in: " \n")
            if TaskDefinition.isValidID(id) { return id }
        }
        var random = SystemRandomNumberGenerator()
        let suffix = String(random.next() & 0xffff_ffff, radix: 16)
        let cleaned = hostname.map { $0.isLetter || $0.isNumber ? String($0) : "-" }.joined()
        let id = "\(cleaned.isEmpty ? "agent" : cleaned)-\(suffix)"
        try? FileSystem.writeAtomically(Array((id + "\n").utf8), to: path, mode: 0o644)
        return id
    }

    // MARK: queries

    public func info() -> AgentInfo {
        (try? inventory.agentInfo(id: agentID, version: Agent.version, startedAt: startedAt))
            ?? AgentInfo(id: agentID, hostname: inventory.hostname, version: Agent.version, startedAt: startedAt,
                         resources: [], attributes: inventory.attributes, inventory: inventory.details)
    }

    public func tasks() -> [TaskInfo] {
        records.values.sorted { $0.id < $1.id }.map { $0.info(layout: layout($0.id)) }
    }

    public func task(_ id: String) throws(APIError) -> TaskInfo {
        try record(id).info(layout: layout(id))
    }

    /// The log file of the task's current run.
    public func logFile(_ id: String, stream: LogStream) throws(APIError) -> String {
        let record = try record(id)
        return layout(id).log(record.run, stream: stream)
    }

    /// True once the task is terminal and no restart is pending.
    public func hasEnded(_ id: String) -> Bool {
        guard let record = records[id] else { return true }
        return record.status.state.isTerminal && record.restartAt == nil
    }

    /// Every status update from now on, until the caller stops listening.
    public func subscribe() -> AsyncStream<TaskStatus> {
        let (stream, continuation) = AsyncStream.makeStream(of: TaskStatus.self, bufferingPolicy: .bufferingNewest(10_000))
        let key = nextSubscriber
        nextSubscriber += 1
        subscribers[key] = continuation
        continuation.onTermination = { _ in Task { await self.unsubscribe(key) } }
        return stream
    }

    private func unsubscribe(_ key: Int) {
        subscribers[key] = nil
    }

    /// Counts for the metrics: tasks by state.
    public func taskCounts() -> [TaskState: Int] {
        var counts: [TaskState: Int] = [:]
        for record in records.values { counts[record.status.state, default: 0] += 1 }
        return counts
    }

    // MARK: shared helpers

    func layout(_ id: String) -> TaskLayout {
        TaskLayout(stateDir: configuration.stateDir, taskID: id)
    }

    func record(_ id: String) throws(APIError) -> TaskRecord {
        guard let record = records[id] else { throw APIError.notFound("id", "no task \"\(id)\"") }
        return record
    }

    /// Records a new status: checkpoint first (so what clients see is what a restart finds),
    /// then tell every watcher. STARTING passes; a reboot makes it LOST anyway, so its
    /// checkpoint skips the fsync (see Checkpoint). RUNNING is not written at all: a restart
    /// finds it again from the run's `started` marker, and the watchers hear of it without
    /// waiting for a file.
    func transition(_ id: String, _ state: TaskState, reason: TaskStatusReason? = nil, message: String? = nil,
                    exitCode: Int32? = nil, signal: Int32? = nil, checkpoint: Bool = true) {
        guard var record = records[id] else { return }
        record.status = TaskStatus(
            taskId: id, state: state, reason: reason, message: message, exitCode: exitCode, signal: signal,
            healthy: state == .running ? record.status.healthy : nil,
            containerId: layout(id).containerID(record.run), timestamp: now())
        records[id] = record
        if checkpoint && state != .running { save(record, durable: state != .starting) }
        publish(record.status)
        log.info("task \(state.rawValue)", ["task": id, "reason": reason?.rawValue ?? "", "message": message ?? ""])
    }

    func publish(_ status: TaskStatus) {
        for continuation in subscribers.values { continuation.yield(status) }
    }

    /// Writes the task's checkpoint now; with `durable`, its fsync follows on another thread so
    /// the agent never waits on the disk.
    func save(_ record: TaskRecord, durable: Bool) {
        let path = layout(record.id).checkpoint
        do {
            try Checkpoint.save(record, to: path)
        } catch {
            log.error("checkpoint failed", ["task": record.id, "error": error.description])
            return
        }
        guard durable else { return }
        let log = log, id = record.id
        Task.detached {
            let synced = await runBlocking("sync \(id)") { Result { () throws(APIError) in try Checkpoint.sync(path) } }
            if case .failure(let error) = synced {
                log.error("checkpoint sync failed", ["task": id, "error": error.description])
            }
        }
    }
}
