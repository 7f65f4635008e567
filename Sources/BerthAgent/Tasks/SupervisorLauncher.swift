import BerthAPI
import BerthLinux

/// Starts berth-supervisor for one run and returns once it has daemonized and recorded itself.
struct SupervisorLauncher: Sendable {
    var supervisorPath: String
    var berthPath: String
    var runtimeRoot: String
    var logMaxBytes: Int
    var logKeep: Int

    func launch(layout: TaskLayout, run: Int) throws(APIError) -> SupervisorRecord {
        var child = ChildProcess(path: supervisorPath, arguments: [
            supervisorPath,
            "--task-dir", layout.runDirectory(run),
            "--berth", berthPath,
            "--runtime-root", runtimeRoot,
            "--bundle", layout.bundle(run),
            "--container-id", layout.containerID(run),
            "--log-max-bytes", String(logMaxBytes),
            "--log-keep", String(logKeep),
        ])
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
