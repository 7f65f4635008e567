import BerthAsync
import BerthAPI
import BerthLinux
import BerthRuntime
#if canImport(Glibc)
import Glibc
#endif

extension Agent {
    /// Starts watching and finds every task again from the checkpoints: running ones keep
    /// running under their supervisors, ones that ended while berthd was away get their real
    /// status, half-launched ones are cleaned up and launched again, and after a reboot the
    /// old tasks are LOST.
    public func start() throws(APIError) {
        let began = ContinuousClock.now
        do {
            monitor = try TaskMonitor { event in Task { await self.handle(event) } }
        } catch {
            throw APIError(status: 500, message: "task monitor: \(error)")
        }
        let reservationsPath = configuration.stateDir + "/reservations.json"
        if FileSystem.exists(reservationsPath) {
            switch Checkpoint.load(OfferBookCheckpoint.self, from: reservationsPath) {
            case .success(let saved):
                for note in book.restore(OfferBookCheckpoint(reservations: saved.reservations)) { log.warn(note) }
            case .failure(let error):
                log.error("reservations checkpoint unreadable; starting without dynamic reservations", ["error": error.description])
            }
        }
        let tasksDirectory = TaskLayout.tasksDirectory(stateDir: configuration.stateDir)
        let ids = (try? FileSystem.listDirectory(tasksDirectory)) ?? []
        for id in ids.sorted() {
            switch Checkpoint.load(TaskRecord.self, from: layout(id).checkpoint) {
            case .success(let record):
                records[record.id] = record
                guard !record.status.state.isTerminal || record.restartAt != nil else { continue }
                if let note = book.restore(record.allocation) { log.warn(note) }
                recover(record)
            case .failure(let error):
                // A task dir without a checkpoint never got past admission: nothing ran.
                log.warn("skipping a task directory without a readable checkpoint", ["dir": id, "error": error.description])
            }
        }
        // Networks whose tasks all ended (berthd died before tearing them down) go now.
        for networkID in network.checkpointedIDs() {
            let inUse = records.values.contains {
                TaskNetwork.id(of: $0) == networkID && (!$0.status.state.isTerminal || $0.restartAt != nil)
            }
            if !inUse, let problem = network.detach(networkID) {
                log.error("network teardown failed", ["network": networkID, "error": problem])
            }
        }
        recoverySeconds = Double((ContinuousClock.now - began).components.attoseconds) / 1e18
            + Double((ContinuousClock.now - began).components.seconds)
        log.info("recovered", ["tasks": String(records.count), "seconds": formatNumber(recoverySeconds)])
    }

    private func recover(_ record: TaskRecord) {
        let id = record.id, run = record.run
        let layout = layout(id)
        if record.bootID != bootID {
            // Its processes, cgroups and runtime state died with the old boot. RUNNING is not
            // checkpointed: the run's started marker says it.
            let started = !record.status.state.isTerminal && layout.hasStarted(run)
            let last = started && [.staging, .starting].contains(record.status.state) ? TaskState.running : record.status.state
            TaskBundle.discard(layout.bundle(run))
            transition(id, .lost, reason: .reboot, message: "the machine rebooted while the task was \(last.rawValue)")
            scheduleRestartOrRelease(id)
            return
        }
        if let due = record.restartAt {
            let delay = max(0, due - now())
            Task {
                try? await Task.sleep(for: .milliseconds(Int64(delay * 1000)))
                await self.startRun(id)
            }
            return
        }
        if FileSystem.exists(layout.exitRecord(run)) {
            Task { await self.runEnded(id, run: run) }
            return
        }
        if let supervisor = SupervisorRecord.load(layout.supervisorRecord(run)) {
            adopt(record, supervisor: supervisor)
            return
        }
        let runtime = runtime
        let containerID = layout.containerID(run)
        Task {
            // berthd died before the supervisor recorded itself. One may be on its way: then its
            // record comes. Otherwise undo what was made, then launch.
            let starting = await runBlocking("find the supervisor of \(id)") { Self.startingSupervisor(layout, run: run) }
            if let starting, let current = await self.records[id], current.run == run {
                await self.adopt(current, supervisor: starting)
                return
            }
            await runBlocking("clean \(id)") {
                try? runtime.delete(id: containerID, force: true)
                TaskBundle.discard(layout.bundle(run))
            }
            var pending = await self.records[id]
            pending?.status.state = .staging
            if let pending { await self.resume(pending) }
        }
    }

    /// Takes over a run whose supervisor recorded itself before berthd went away.
    private func adopt(_ record: TaskRecord, supervisor: SupervisorRecord) {
        let id = record.id, run = record.run
        let layout = layout(id)
        guard supervisor.isAlive else {
            // The supervisor is gone without a word: LOST, and its container is removed.
            Task { await self.runEnded(id, run: run) }
            return
        }
        if !layout.hasStarted(run), record.status.state == .staging {
            // Its supervisor is making the container: the monitor reports RUNNING.
            transition(id, .starting, checkpoint: false)
        }
        if layout.hasStarted(run) {
            if record.status.state == .starting || record.status.state == .staging { transition(id, .running) }
            if records[id]?.status.state == .running { startHealthChecks(id) }
            if records[id]?.status.state == .killing {
                terminate(id, run: run, grace: record.definition.killGracePeriodSeconds)
            }
        }
        monitor?.watch(taskID: id, run: run, supervisorPID: supervisor.pid, startTime: supervisor.startTime,
                       runDirectory: layout.runDirectory(run))
    }

    /// The record of a supervisor that was starting when berthd died, once it has written it;
    /// nil when none holds the run's lock (none started, or it is gone). The lock is held from
    /// before the supervisor exists (SupervisorLauncher), so a free lock means no supervisor.
    nonisolated static func startingSupervisor(_ layout: TaskLayout, run: Int) -> SupervisorRecord? {
        let deadline = ContinuousClock.now + .seconds(30)   // the launcher's own limit
        while ContinuousClock.now < deadline {
            if let record = SupervisorRecord.load(layout.supervisorRecord(run)) { return record }
            switch Result(catching: { () throws(SystemError) in try FileLock.tryAcquire(layout.supervisorLock(run), directory: true) }) {
            case .success(let lock?):
                lock.unlock()
                return SupervisorRecord.load(layout.supervisorRecord(run))
            case .success(nil):
                usleep(10_000)   // held: its supervisor is setting up
            case .failure:
                return nil       // no run directory: nothing was started
            }
        }
        return nil
    }

    private func resume(_ record: TaskRecord) async {
        records[record.id] = record
        await startRun(record.id)
    }
}
