import BerthAPI
import BerthLinux
import BerthOCI
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Everything berthd knows about one task; checkpointed to tasks/ID/task.json on every change,
/// so a berthd killed at any moment finds it again.
public struct TaskRecord: Codable, Sendable {
    public var definition: TaskDefinition
    public var allocation: TaskAllocation
    public var status: TaskStatus
    /// The current (or last) run; runs start at 1 and a restart adds one.
    public var run: Int
    public var restarts: Int
    /// The boot the task was launched in: after a reboot its processes are gone (LOST).
    public var bootID: String
    /// Set by a kill request: the task ends KILLED and is not restarted.
    public var killRequested: Bool
    /// Set when health checks failed and berthd killed the task for it.
    public var killedForHealth: Bool
    /// When a pending restart is due (seconds since the epoch), while the task waits for it.
    public var restartAt: Double?
    /// When the current run was asked for, for the launch latency metric.
    public var runRequestedAt: Double?

    public init(definition: TaskDefinition, allocation: TaskAllocation, status: TaskStatus, bootID: String) {
        self.definition = definition
        self.allocation = allocation
        self.status = status
        self.run = 1
        self.restarts = 0
        self.bootID = bootID
        self.killRequested = false
        self.killedForHealth = false
    }

    public var id: String { definition.id }

    func info(layout: TaskLayout) -> TaskInfo {
        TaskInfo(definition: definition, status: status, allocation: allocation, sandbox: layout.sandbox, restarts: restarts)
    }
}

/// One way to write and read checkpoints: JSON, atomically (temp file, rename), so neither a
/// reader nor a berthd killed at any moment ever sees half a file.
///
/// Durability against power loss (fsync of the file and its directory) is asked for separately,
/// because the agent must not wait on the disk: `save` only renames into place (enough for
/// `kill -9` of berthd, the page cache keeps it), and `sync` makes it durable, called off the
/// actor. What needs it: a task's admission (the launch is answered only once it is durable) and
/// the states a reboot must not undo (terminal, KILLING, a restart's new run). STARTING and
/// health changes do not: after a reboot the task is LOST whatever its last state said. RUNNING
/// is not written at all (the run's `started` marker says it).
enum Checkpoint {
    /// With `durable`, the fsyncs happen here and now (for rare writes such as reservations).
    static func save<T: Encodable>(_ value: T, to path: String, durable: Bool = false) throws(APIError) {
        let bytes: [UInt8]
        do {
            bytes = try OCIJSON.encode(value)
        } catch {
            throw APIError(status: 500, message: "checkpoint \(path): \(error)")
        }
        do {
            try FileSystem.writeAtomically(bytes, to: path, mode: 0o600, durable: durable)
        } catch {
            // A full disk is refused here, before anything else changes; the old checkpoint stays.
            let status = error.errno == .noSpace ? 507 : 500
            throw APIError(status: status, message: "checkpoint \(path): \(error.errno)")
        }
    }

    /// fsync of the checkpoint and of its directory (the rename). Blocks: call it off the actor.
    static func sync(_ path: String) throws(APIError) {
        do {
            try FileSystem.makeDurable(path)
        } catch {
            let status = error.errno == .noSpace ? 507 : 500
            throw APIError(status: status, message: "checkpoint \(path): \(error.errno)")
        }
    }

    static func load<T: Decodable>(_ type: T.Type, from path: String) -> Result<T, OCIError> {
        Result { () throws(OCIError) in try OCIJSON.load(type, path: path, source: path) }
    }
}

/// Seconds since the UNIX epoch, as status timestamps carry them.
func now() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}
