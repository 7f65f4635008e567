import BerthAsync
import BerthAPI
import BerthLinux
import BerthNetwork
import BerthRuntime
#if canImport(Glibc)
import Glibc
#endif

extension Agent {
    /// SIGTERM to every process of the task's cgroup, SIGKILL after the grace period (the
    /// task's killGracePeriodSeconds unless the request gives one). The task ends KILLED and is
    /// never restarted.
    public func kill(_ id: String, graceSeconds: Double?) throws(APIError) -> TaskInfo {
        var record = try record(id)
        if record.status.state.isTerminal && record.restartAt == nil {
            throw APIError.conflict("id", "task \"\(id)\" already ended (\(record.status.state.rawValue))")
        }
        record.killRequested = true
        records[id] = record
        if record.restartAt != nil {
            // Waiting out a restart backoff: nothing runs, so it ends here.
            record.restartAt = nil
            records[id] = record
            transition(id, .killed, reason: .killedByScheduler, message: "killed while waiting to restart")
            book.release(taskId: id)
            releaseNetwork(of: record)
            return try task(id)
        }
        let grace = graceSeconds ?? record.definition.killGracePeriodSeconds
        transition(id, .killing, reason: .killedByScheduler, message: "SIGTERM, then SIGKILL after \(formatNumber(grace)) s")
        terminate(id, run: record.run, grace: grace)
        return try task(id)
    }

    /// The kill sequence for one run; the monitor reports the end as for any exit.
    func terminate(_ id: String, run: Int, grace: Double) {
        let containerID = layout(id).containerID(run)
        let runtime = runtime
        Task {
            await runBlocking("kill \(id)") { try? runtime.kill(id: containerID, signal: SIGTERM, all: true) }
            try? await Task.sleep(for: .milliseconds(Int64(grace * 1000)))
            guard await self.isStillRunning(id, run: run) else { return }
            await runBlocking("kill \(id)") { try? runtime.kill(id: containerID, signal: SIGKILL, all: true) }
        }
    }

    func isStillRunning(_ id: String, run: Int) -> Bool {
        guard let record = records[id] else { return false }
        return record.run == run && !record.status.state.isTerminal
    }

    // MARK: health checks

    /// Each check runs on its own schedule after its grace period; a check that fails
    /// maxConsecutiveFailures times in a row kills the task (FAILED, healthCheckFailed).
    func startHealthChecks(_ id: String) {
        guard let record = records[id], !record.definition.healthChecks.isEmpty else { return }
        stopHealthChecks(id)
        let run = record.run
        // In bridge mode the task is reached at its own address on its container ports.
        let attachment = (try? NetworkAttachment.load(network.checkpoint(TaskNetwork.id(of: record)))) ?? nil
        let bridged = record.definition.network.mode == .bridge ? attachment?.primaryAddress : nil
        let ports = bridged == nil ? record.allocation.hostPorts
            : TaskNetwork.mappings(of: record).map(\.containerPort) + record.allocation.hostPorts.dropFirst(record.definition.network.portMappings.count)
        let probes = record.definition.healthChecks.map { check in
            HealthProbe(check: check, berthPath: configuration.berthPath, runtimeRoot: configuration.runtimeRoot,
                        containerID: layout(id).containerID(run), hostPorts: ports, address: bridged ?? "127.0.0.1")
        }
        healthChecks[id] = Task {
            await withTaskGroup(of: Void.self) { group in
                for probe in probes {
                    group.addTask { await self.runHealthCheck(probe, id: id, run: run) }
                }
            }
        }
    }

    func stopHealthChecks(_ id: String) {
        healthChecks.removeValue(forKey: id)?.cancel()
    }

    private nonisolated func runHealthCheck(_ probe: HealthProbe, id: String, run: Int) async {
        let check = probe.check
        try? await Task.sleep(for: .milliseconds(Int64(check.gracePeriodSeconds * 1000)))
        var failures = 0
        while !Task.isCancelled, await isStillRunning(id, run: run) {
            let problem = await runBlocking("health \(id)") { probe.probe() }
            if Task.isCancelled { return }
            failures = problem == nil ? 0 : failures + 1
            if await healthResult(id, run: run, problem: problem, failures: failures, limit: check.maxConsecutiveFailures) {
                return
            }
            try? await Task.sleep(for: .milliseconds(Int64(check.intervalSeconds * 1000)))
        }
    }

    /// Records one result; true when the task was killed for it.
    private func healthResult(_ id: String, run: Int, problem: String?, failures: Int, limit: Int) -> Bool {
        guard var record = records[id], record.run == run, record.status.state == .running else { return true }
        let healthy = problem == nil
        if record.status.healthy != healthy {
            record.status.healthy = healthy
            record.status.message = problem.map { "health check failed: \($0)" } ?? "health check passed"
            record.status.timestamp = now()
            records[id] = record
            save(record, durable: false)
            publish(record.status)
        }
        guard failures >= limit else { return false }
        record.killedForHealth = true
        records[id] = record
        transition(id, .killing, reason: .healthCheckFailed, message: "\(failures) health checks failed in a row: \(problem ?? "")")
        terminate(id, run: run, grace: record.definition.killGracePeriodSeconds)
        return true
    }
}
