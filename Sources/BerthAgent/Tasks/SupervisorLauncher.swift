import BerthAPI
import BerthLinux

/// Starts berth-supervisor for one run and returns once it has daemonized and recorded itself.
///
/// The run's lock is taken before the supervisor exists and handed to it as an open file, so
/// from then on it is held by berthd, the supervisor, or both. A berthd that restarts after a
/// crash and finds no supervisor.json learns from it whether a supervisor was already on its way
/// (it then waits for it) or never started (it launches one): never two for one run.
struct SupervisorLauncher: Sendable {
    var supervisorPath: String
    var berthPath: String
    var runtimeRoot: String
    var logMaxBytes: Int
    var logKeep: Int

    /// With a `gate` (the read end of a LaunchGate), the supervisor hands it to `berth run`,
    /// which waits there before it makes the container and again before its process starts.
    func launch(layout: TaskLayout, run: Int, gate: FileDescriptor? = nil) throws(APIError) -> SupervisorRecord {
        let acquired: FileLock?
        do {
            acquired = try FileLock.tryAcquire(layout.supervisorLock(run), directory: true)
        } catch {
            throw APIError(status: 500, message: "starting berth-supervisor: \(error)")
        }
        guard let lock = acquired else {
            throw APIError(status: 500, message: "run \(run) already has a supervisor (\(layout.supervisorLock(run)) is locked)")
        }
        defer { lock.unlock() }
        var child = ChildProcess(path: supervisorPath, arguments: [
            supervisorPath,
            "--task-dir", layout.runDirectory(run),
            "--berth", berthPath,
            "--runtime-root", runtimeRoot,
            "--bundle", layout.bundle(run),
            "--container-id", layout.containerID(run),
            "--log-max-bytes", String(logMaxBytes),
            "--log-keep", String(logKeep),
            "--lock-fd", "3",
        ] + (gate == nil ? [] : ["--gate-fd", "4"]))
        child.inheritedDescriptors = [lock.descriptor.rawValue] + (gate.map { [$0.rawValue] } ?? [])
        child.timeout = .seconds(30)
        let output: ChildProcess.Output
        do {
            output = try child.run()
        } catch {
            throw APIError(status: 500, message: "starting berth-supervisor: \(error)")
        }
        guard output.status == .exited(0) else {
            let reason = output.standardErrorText.split(separator: "\n").last.map(String.init) ?? "\(output.status)"
            throw APIError(status: 500, message: "berth-supervisor: \(reason)")
        }
        guard let record = SupervisorRecord.load(layout.supervisorRecord(run)) else {
            throw APIError(status: 500, message: "berth-supervisor left no readable \(layout.supervisorRecord(run))")
        }
        return record
    }
}
