import FoundationEssentials

/// A task's state, named as Mesos names them.
public enum TaskState: String, WireEnum {
    /// Accepted and resources allocated; nothing started yet.
    case staging = "STAGING"
    /// Preparing (image, rootfs, container creation, supervisor).
    case starting = "STARTING"
    case running = "RUNNING"
    /// SIGTERM sent; SIGKILL follows after the grace period.
    case killing = "KILLING"
    /// Exited with status 0 by itself.
    case finished = "FINISHED"
    /// Exited non-zero, died from a signal, was OOM-killed or failed its health checks.
    case failed = "FAILED"
    /// Killed on request (the scheduler or `berth task kill`).
    case killed = "KILLED"
    /// Could not be launched (bad image, runtime refusal...).
    case error = "ERROR"
    /// Its fate is unknown (its supervisor vanished, or the machine rebooted).
    case lost = "LOST"

    public static let kind = "task state"
    public init(from decoder: any Decoder) throws { self = try Self.decodeWire(from: decoder) }

    /// No more updates follow a terminal state (short of a restart, which is a new run).
    public var isTerminal: Bool {
        switch self {
        case .staging, .starting, .running, .killing: return false
        case .finished, .failed, .killed, .error, .lost: return true
        }
    }
}

/// Why a task is in its state.
public enum TaskStatusReason: String, WireEnum {
    /// The task's process exited by itself (its status is in exitCode/signal).
    case exited
    case oomKilled
    case healthCheckFailed
    case killedByScheduler
    /// The task's supervisor died without recording the task's exit.
    case executorExited
    /// Reported while berthd recovered its tasks after a restart.
    case agentRestarted
    /// The machine rebooted (boot id changed) while the task was known.
    case reboot
    case launchFailed
    case imageFailed
    /// The task ended and its restart policy starts it again after a backoff.
    case restarting
    /// berthd is shutting tasks down (only when asked to; SIGTERM leaves tasks running).
    case agentShutdown

    public static let kind = "task status reason"
    public init(from decoder: any Decoder) throws { self = try Self.decodeWire(from: decoder) }
}

/// One status update: every state transition produces one, on the watch stream and in `TaskInfo`.
public struct TaskStatus: Codable, Sendable, Equatable {
    public var taskId: String
    public var state: TaskState
    public var reason: TaskStatusReason?
    /// A human line ("exited with status 3", "OOM-killed at 64 MiB").
    public var message: String?
    public var exitCode: Int32?
    public var signal: Int32?
    /// The last health check result; nil when the task has none or none ran yet.
    public var healthy: Bool?
    /// The runtime container id of the task's current run.
    public var containerId: String?
    /// Seconds since the UNIX epoch.
    public var timestamp: Double

    public init(taskId: String, state: TaskState, reason: TaskStatusReason? = nil, message: String? = nil,
                exitCode: Int32? = nil, signal: Int32? = nil, healthy: Bool? = nil, containerId: String? = nil,
                timestamp: Double) {
        self.taskId = taskId
        self.state = state
        self.reason = reason
        self.message = message
        self.exitCode = exitCode
        self.signal = signal
        self.healthy = healthy
        self.containerId = containerId
        self.timestamp = timestamp
    }
}

/// What the agent gave a task: the exact resources (with roles) and the chosen host ports.
public struct TaskAllocation: Codable, Sendable, Equatable {
    public var taskId: String
    public var role: String
    /// The resources taken, as offered (ports as the ranges of the chosen ports).
    public var resources: [Resource]
    /// Host ports in PORT0, PORT1... order: one per `network.portMappings` entry (in order),
    /// then the `resources.ports` extra ones.
    public var hostPorts: [Int]
    /// Indices of the GPUs given (as `berth gpus` numbers them).
    public var gpus: [Int]
    /// The offers it was launched from; empty for a launch without an offer.
    public var offerIds: [String]
    /// Tasks launched together with LAUNCH_GROUP share this id (the group's first task id) and
    /// one network namespace.
    public var group: String?

    public init(taskId: String, role: String = "*", resources: [Resource] = [], hostPorts: [Int] = [],
                gpus: [Int] = [], offerIds: [String] = [], group: String? = nil) {
        self.taskId = taskId
        self.role = role
        self.resources = resources
        self.hostPorts = hostPorts
        self.gpus = gpus
        self.offerIds = offerIds
        self.group = group
    }
}

/// A task as `berth task list` / `berth task show` see it.
public struct TaskInfo: Codable, Sendable, Equatable {
    public var definition: TaskDefinition
    public var status: TaskStatus
    public var allocation: TaskAllocation?
    /// The sandbox directory (cwd of plain tasks; holds stdout and stderr).
    public var sandbox: String
    /// How many times the restart policy relaunched it.
    public var restarts: Int

    public init(definition: TaskDefinition, status: TaskStatus, allocation: TaskAllocation? = nil,
                sandbox: String, restarts: Int = 0) {
        self.definition = definition
        self.status = status
        self.allocation = allocation
        self.sandbox = sandbox
        self.restarts = restarts
    }
}

/// Body of a kill request (`berth task kill ID --grace SECONDS`); nil grace: the task's own.
public struct KillRequest: Codable, Sendable, Equatable {
    public var graceSeconds: Double?

    public init(graceSeconds: Double? = nil) { self.graceSeconds = graceSeconds }

    public func validate() throws(APIError) {
        if let graceSeconds, !(graceSeconds >= 0 && graceSeconds <= 3600) {
            throw .badRequest("graceSeconds", "must be between 0 and 3600, got \(formatNumber(graceSeconds))")
        }
    }
}
