import BerthLinux

/// Where a task lives under --state-dir. Readable with `ls` and `cat`:
///
///     tasks/ID/task.json          the checkpoint (definition, allocation, last status)
///     tasks/ID/sandbox/           cwd of a plain task, /mnt/sandbox of a container task
///     tasks/ID/runs/N/            one per launch (restarts add runs): the supervisor's files
///         supervisor.json init.pid started exit.json runtime.log stdout stderr ...
///         (init.pid appears when the container has started, `started` when berth run is done)
///         (the directory itself is the run's lock: see SupervisorLauncher)
///     tasks/ID/runs/N/bundle/     the OCI bundle of that run
public struct TaskLayout: Sendable {
    public let stateDir: String
    public let taskID: String

    public init(stateDir: String, taskID: String) {
        self.stateDir = stateDir
        self.taskID = taskID
    }

    public static func tasksDirectory(stateDir: String) -> String { stateDir + "/tasks" }

    public var directory: String { TaskLayout.tasksDirectory(stateDir: stateDir) + "/" + taskID }
    public var checkpoint: String { directory + "/task.json" }
    public var sandbox: String { directory + "/sandbox" }

    public func runDirectory(_ run: Int) -> String { directory + "/runs/\(run)" }
    public func bundle(_ run: Int) -> String { runDirectory(run) + "/bundle" }
    public func supervisorRecord(_ run: Int) -> String { runDirectory(run) + "/supervisor.json" }
    /// Locked (flock) by the run's supervisor from before it starts until it exits (see
    /// SupervisorLauncher): the run directory itself, so that no file is made for it.
    public func supervisorLock(_ run: Int) -> String { runDirectory(run) }
    public func startedMarker(_ run: Int) -> String { runDirectory(run) + "/started" }
    /// The files in a run's directory that say its container has started: the pid file
    /// `berth run` writes once it has, and the supervisor's `started`, which waits for
    /// `berth run` to exit.
    public static let startMarks = ["init.pid", "started"]
    /// Whether the run's container has started, by either mark.
    public func hasStarted(_ run: Int) -> Bool { Self.hasStarted(runDirectory: runDirectory(run)) }
    public static func hasStarted(runDirectory: String) -> Bool {
        startMarks.contains { FileSystem.exists(runDirectory + "/" + $0) }
    }
    public func exitRecord(_ run: Int) -> String { runDirectory(run) + "/exit.json" }
    public func log(_ run: Int, stream: LogStream) -> String { runDirectory(run) + "/" + stream.rawValue }

    /// The runtime's container id for one run. Task ids cannot end in ".<digits>" ambiguously:
    /// the run number is always the last dot-separated part.
    public func containerID(_ run: Int) -> String { "\(taskID).\(run)" }
}

public enum LogStream: String, Sendable, CaseIterable {
    case stdout, stderr
}
