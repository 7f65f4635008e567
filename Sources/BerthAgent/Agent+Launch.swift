import BerthAsync
import BerthAPI
import BerthImages
import BerthLinux
import BerthNetwork
import BerthOCI
import BerthRuntime
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

extension Agent {
    /// A task launched without an offer draws from the free resources. The answer comes at
    /// STAGING; the rest of its life arrives on the status stream.
    public func launch(_ definition: TaskDefinition, offerID: String?, scheduler: String? = nil) async throws(APIError) -> TaskInfo {
        try definition.validate()
        if let offerID {
            let request = AcceptRequest(offerIds: [offerID], operations: [Operation(type: .launch, tasks: [definition])])
            guard let info = try await acceptAdmitting(request, scheduler: scheduler).admitted[definition.id] else {
                throw APIError(status: 500, message: "the offer launched nothing")
            }
            return info
        }
        try refuseDuplicate(definition.id, field: "id")
        let allocation = try book.allocateDirect(definition, now: now())
        return try await admit(definition, allocation: allocation)
    }

    func refuseDuplicate(_ id: String, field: String) throws(APIError) {
        if let existing = records[id] {
            guard existing.status.state.isTerminal && existing.restartAt == nil else {
                throw APIError.conflict(field, "task \"\(id)\" already exists and is \(existing.status.state.rawValue)")
            }
            // A finished task's id may be used again: its old record and sandbox go.
            records[id] = nil
            try? FileSystem.removeTree(layout(id).directory)
        }
    }

    /// Records an allocated task at STAGING and answers once its checkpoint is durable. The
    /// fsync runs off the actor, and meanwhile the first run gets ready (network, StatsD
    /// endpoint, bundle) and its supervisor sets up: only the container waits for the disk (the
    /// LaunchGate). If the checkpoint cannot be written or synced (a full disk), nothing of the
    /// task stays and its resources return.
    func admit(_ definition: TaskDefinition, allocation: TaskAllocation) async throws(APIError) -> TaskInfo {
        let layout = layout(definition.id)
        let status = TaskStatus(taskId: definition.id, state: .staging, containerId: layout.containerID(1), timestamp: now())
        let record = TaskRecord(definition: definition, allocation: allocation, status: status, bootID: bootID)
        do {
            let builder = TaskSpecBuilder(definition: definition, allocation: allocation, layout: layout, run: 1,
                                          cgroupParent: configuration.cgroupParent)
            try network.validate(record, hostname: builder.hostname(), mappings: TaskNetwork.mappings(of: record))
        } catch {
            book.release(taskId: definition.id)
            throw error
        }
        do {
            // The sandbox is made with the bundle, off the way to the checkpoint and supervisor.
            try FileSystem.createDirectory(layout.directory, mode: 0o700)
        } catch {
            book.release(taskId: definition.id)
            try? FileSystem.removeTree(layout.directory)
            throw APIError(status: error.errno == .noSpace ? 507 : 500, message: "task \(definition.id): \(error)")
        }
        let checkpoint = layout.checkpoint
        do {
            try Checkpoint.save(record, to: checkpoint)
        } catch {
            book.release(taskId: definition.id)
            try? FileSystem.removeTree(layout.directory)
            throw error
        }
        // Holds the id while the disk works: a second launch of it is refused as a duplicate.
        records[definition.id] = record
        // Without a pipe to be had, the supervisor itself waits for the fsync.
        let gate = try? LaunchGate()
        let admission = Task { await self.confirmAdmission(definition.id, checkpoint: checkpoint, gate: gate) }
        let run = Task { await self.startRun(definition.id, admission: admission, gate: gate) }
        if case .failure(let error) = await admission.value {
            // The run stops before its supervisor when it sees this, and undoes its bundle: once
            // it has returned, nothing writes into the task's directory any more.
            await run.value
            records[definition.id] = nil
            book.release(taskId: definition.id)
            releaseNetwork(of: record)
            closeRelay(definition.id)
            try? FileSystem.removeTree(layout.directory)
            throw error
        }
        // The answer is the admission (STAGING), whatever the run reached since, unless a kill
        // came in meanwhile.
        if let current = records[definition.id], current.killRequested { return current.info(layout: layout) }
        return record.info(layout: layout)
    }

    /// One run: network, StatsD endpoint and bundle, then its supervisor; the monitor reports
    /// `started` and `ended`. A first run gets ready while its admission's fsync is under way
    /// (`admission`). Its supervisor and `berth run` start then too, behind the `gate`: berth
    /// makes the container once the bundle is ready and starts its process once the admission
    /// is durable. Without a gate the supervisor starts only once the task is durably admitted.
    func startRun(_ id: String, admission: Task<Result<Void, APIError>, Never>? = nil, gate: LaunchGate? = nil) async {
        guard var record = records[id], !record.status.state.isTerminal || record.restartAt != nil else { return }
        let restarting = record.restartAt != nil
        record.restartAt = nil
        record.runRequestedAt = now()
        records[id] = record
        if admission == nil {
            guard begin(id, restarting: restarting) else { return }
        }
        let run = record.run
        let layout = layout(id)
        var builder = TaskSpecBuilder(definition: record.definition, allocation: record.allocation, layout: layout, run: run,
                                      cgroupParent: configuration.cgroupParent, agentEnvironment: configuration.taskEnvironment)
        // Behind a gate the supervisor and `berth run` start first, while the network, the bundle
        // and the admission's fsync are made (see LaunchGate). The thread that makes the run's
        // directory starts the supervisor: a hop back to the cooperative pool in between waited
        // there behind the rest of the launch (0.9 ms seen).
        let launcher = launcher
        let early = gate.map { gate in
            Task {
                await runBlocking("supervise \(id)") {
                    Result { () throws(APIError) -> SupervisorRecord in
                        try TaskBundle.makeDirectories(layout: layout, run: run)
                        return try launcher.launch(layout: layout, run: run, gate: gate.reader)
                    }
                }
            }
        }
        // Without a gate the directory comes first and the supervisor once all is ready (below).
        let directories = gate != nil ? nil : Task {
            await runBlocking("prepare \(id)") {
                Result { () throws(APIError) in try TaskBundle.makeDirectories(layout: layout, run: run) }
            }
        }
        switch await attachNetwork(record, hostname: builder.hostname()) {
        case .success(let attachment):
            builder.network = attachment
        case .failure(let error):
            await withdraw(gate, early, layout: layout, run: run)
            _ = await directories?.value
            TaskBundle.discard(layout.bundle(run))
            guard await admitted(admission) else { return }
            announceAdmission(id, admission)
            return finishWithoutRun(id, .error, reason: .launchFailed, message: "network: \(error.description)")
        }
        builder.agentEnvironment.merge(await openRelay(for: record, containerID: layout.containerID(run))) { $1 }
        let images = imageStore, backend = configuration.rootfsBackend, ready = builder
        var prepared = await directories?.value ?? .success(())
        if case .success = prepared {
            prepared = await runBlocking("prepare \(id)") {
                Result { () throws(APIError) in try TaskBundle.prepare(builder: ready, images: images, backend: backend) }
            }
        }
        if case .failure(let error) = prepared {
            await withdraw(gate, early, layout: layout, run: run)
            TaskBundle.discard(layout.bundle(run))
            guard await admitted(admission) else { return }
            announceAdmission(id, admission)
            return finishWithoutRun(id, .error, reason: record.definition.container == nil ? .launchFailed : .imageFailed,
                                    message: error.message)
        }
        if let gate, let early {
            // A kill that came in meanwhile keeps the gate shut; a later one finds the container
            // once it runs (see .started).
            let killed = records[id]?.killRequested == true
            if killed { await withdraw(gate, early, layout: layout, run: run) } else { gate.bundleReady() }
            guard await admitted(admission) else {
                // The admission withdrew the gate: berth removed what it made, and the supervisor left.
                await withdraw(gate, early, layout: layout, run: run)
                TaskBundle.discard(layout.bundle(run))
                return
            }
            announceAdmission(id, admission)
            if killed {
                TaskBundle.discard(layout.bundle(run))
                return finishWithoutRun(id, .killed, reason: .killedByScheduler, message: "killed before it started")
            }
            return supervised(id, run: run, layout: layout, await early.value)
        }
        guard await admitted(admission) else {
            TaskBundle.discard(layout.bundle(run))
            return
        }
        if records[id]?.killRequested == true {
            TaskBundle.discard(layout.bundle(run))
            announceAdmission(id, admission)  // counts the launch; the kill said KILLING already
            return finishWithoutRun(id, .killed, reason: .killedByScheduler, message: "killed before it started")
        }
        async let launching = runBlocking("supervise \(id)") {
            Result { () throws(APIError) in try launcher.launch(layout: layout, run: run) }
        }
        // While the supervisor starts: STAGING and STARTING of a first run go out only now, so
        // that telling the watchers does not hold the supervisor back.
        announceAdmission(id, admission)
        supervised(id, run: run, layout: layout, await launching)
    }

    /// A launched supervisor goes to the monitor; a failed launch ends the run.
    private func supervised(_ id: String, run: Int, layout: TaskLayout, _ launched: Result<SupervisorRecord, APIError>) {
        switch launched {
        case .failure(let error):
            TaskBundle.discard(layout.bundle(run))
            finishWithoutRun(id, .error, reason: .launchFailed, message: error.message)
        case .success(let supervisor):
            monitor?.watch(taskID: id, run: run, supervisorPID: supervisor.pid, startTime: supervisor.startTime,
                           runDirectory: layout.runDirectory(run))
        }
    }

    /// Shuts the gate and waits until a supervisor started behind it has gone: its `berth run`
    /// removes what it made, and the supervisor holds the run's lock until it exits.
    private func withdraw(_ gate: LaunchGate?, _ early: Task<Result<SupervisorRecord, APIError>, Never>?,
                          layout: TaskLayout, run: Int) async {
        gate?.withdraw()
        guard case .success = await early?.value else { return }
        let lock = layout.supervisorLock(run)
        await runBlocking("withdraw \(layout.containerID(run))") { (try? FileLock.acquire(lock, directory: true))?.unlock() }
    }

    /// The run's start on the status stream: STARTING, or the end of a task killed before it
    /// started (false: nothing to run). A restart's STARTING is checkpointed, since its
    /// checkpoint must lose its restartAt before a supervisor exists, or a recovery would start
    /// the run twice. A first run's STAGING checkpoint says all a recovery needs (it reads the
    /// run's own files), so its STARTING is not written.
    private func begin(_ id: String, restarting: Bool) -> Bool {
        metrics?.launchStarted()
        if records[id]?.killRequested == true {
            finishWithoutRun(id, .killed, reason: .killedByScheduler, message: "killed before it started")
            return false
        }
        transition(id, .starting, checkpoint: restarting)
        return true
    }

    /// A first run's admission: the fsync of its STAGING checkpoint (off the actor), then the
    /// gate's word that it is durable, or its withdrawal when it could not be made so.
    private func confirmAdmission(_ id: String, checkpoint: String, gate: LaunchGate?) async -> Result<Void, APIError> {
        await runBlocking("sync \(id)") {
            let synced = Result { () throws(APIError) in try Checkpoint.sync(checkpoint) }
            if case .success = synced { gate?.durable() } else { gate?.withdraw() }
            return synced
        }
    }

    /// A durably admitted first run on the status stream: STAGING, then STARTING. A kill that
    /// came in meanwhile said KILLING already: nothing then (the run ends the task before its
    /// supervisor). Other runs said STARTING in `begin`.
    private func announceAdmission(_ id: String, _ admission: Task<Result<Void, APIError>, Never>?) {
        guard admission != nil else { return }
        metrics?.launchStarted()
        if let record = records[id], record.status.state == .staging {
            publish(record.status)
            log.info("task STAGING", ["task": id])
            transition(id, .starting, checkpoint: false)
        }
    }

    /// Whether a first run's task is durably admitted (waiting for it if need be); false when
    /// admit undoes it. Other runs: true.
    private func admitted(_ admission: Task<Result<Void, APIError>, Never>?) async -> Bool {
        guard let admission else { return true }
        if case .success = await admission.value { return true }
        return false
    }

    /// The monitor's news about a run.
    func handle(_ event: TaskMonitor.Event) async {
        switch event {
        case .started(let id, let run):
            guard let record = records[id], record.run == run else { return }
            // STAGING too: a first run's STARTING is not checkpointed, so a recovered one says STAGING.
            if record.status.state == .starting || record.status.state == .staging {
                if let requested = record.runRequestedAt { metrics?.launchSucceeded(after: now() - requested) }
                transition(id, .running)
                startHealthChecks(id)
            } else if record.killRequested && record.status.state == .killing {
                // Killed while its container was being made: the first signal found nothing.
                terminate(id, run: run, grace: record.definition.killGracePeriodSeconds)
            }
        case .ended(let id, let run):
            guard let record = records[id], record.run == run, !record.status.state.isTerminal else { return }
            await runEnded(id, run: run)
        }
    }

    /// Reads how the run ended, asks the runtime whether the OOM killer did it, removes the
    /// container, then decides: a final state, or a restart after the backoff.
    func runEnded(_ id: String, run: Int) async {
        stopHealthChecks(id)
        let layout = layout(id)
        let containerID = layout.containerID(run)
        let runtime = runtime
        let exit = ExitRecord.load(layout.exitRecord(run))
        let oomKilled = await runBlocking("reap \(id)") { () -> Bool in
            let oom = (try? runtime.stateReport(id: containerID))?.oomKilled == true
            try? runtime.delete(id: containerID, force: true)
            TaskBundle.discard(layout.bundle(run))
            return oom
        }
        guard let record = records[id], record.run == run else { return }
        // A task so short that its end came before its start was seen still ran: say so.
        if record.status.state == .starting || record.status.state == .staging, exit?.phase == .run {
            if let requested = record.runRequestedAt { metrics?.launchSucceeded(after: now() - requested) }
            transition(id, .running)
        }
        let outcome = Outcome(exit: exit, oomKilled: oomKilled, record: records[id] ?? record)
        if outcome.state == .error { metrics?.launchFailed(reason: outcome.reason.rawValue) }
        transition(id, outcome.state, reason: outcome.reason, message: outcome.message,
                   exitCode: exit?.exitCode, signal: exit?.signal)
        scheduleRestartOrRelease(id)
    }

    /// After a terminal state: restart per the task's policy, or give its resources back.
    func scheduleRestartOrRelease(_ id: String) {
        guard var record = records[id] else { return }
        let status = record.status
        if !record.killRequested,
           record.definition.restart.shouldRestart(after: status.state, reason: status.reason, restarts: record.restarts) {
            let delay = record.definition.restart.delay(beforeRestart: record.restarts)
            record.restarts += 1
            record.run += 1
            record.killedForHealth = false
            record.restartAt = now() + delay
            records[id] = record
            transition(id, .staging, reason: .restarting,
                       message: "restart \(record.restarts) in \(formatNumber(delay)) s after \(status.state.rawValue): \(status.message ?? "")")
            Task {
                try? await Task.sleep(for: .milliseconds(Int64(delay * 1000)))
                await self.startRun(id)
            }
            return
        }
        book.release(taskId: id)
        releaseNetwork(of: record)
        closeRelay(id)
    }

    /// The run's network: made once per network id at a time, so the tasks of a group
    /// starting together share one namespace instead of racing to make it.
    func attachNetwork(_ record: TaskRecord, hostname: String) async -> Result<NetworkAttachment?, APIError> {
        // The host's network needs nothing made: no thread for it.
        if record.definition.network.mode == .host { return .success(nil) }
        let networkID = TaskNetwork.id(of: record)
        if let pending = attaching[networkID] { return await pending.value }
        let network = network, mappings = groupMappings(of: record)
        let work = Task {
            await runBlocking("network \(networkID)") {
                Result { () throws(APIError) in try network.attach(record, hostname: hostname, mappings: mappings) }
            }
        }
        attaching[networkID] = work
        let result = await work.value
        attaching[networkID] = nil
        return result
    }

    /// Every port mapping of the task's group (the task alone when it has no group).
    func groupMappings(of record: TaskRecord) -> [BerthNetwork.PortMapping] {
        guard let group = record.allocation.group else { return TaskNetwork.mappings(of: record) }
        return records.values.filter { $0.allocation.group == group }.sorted { $0.id < $1.id }.flatMap(TaskNetwork.mappings)
    }

    /// Tears the task's network down once no task of its group still needs it.
    func releaseNetwork(of record: TaskRecord) {
        guard record.definition.network.mode != .host else { return }
        let networkID = TaskNetwork.id(of: record)
        let inUse = records.values.contains {
            TaskNetwork.id(of: $0) == networkID && (!$0.status.state.isTerminal || $0.restartAt != nil)
        }
        guard !inUse else { return }
        let network = network, log = log
        Task {
            // iptables can refuse a chain deletion for a moment (EBUSY while the kernel drops
            // the rules that used it): a few retries, then the next berthd start tries again.
            var problem: String?
            for attempt in 0..<5 {
                if attempt > 0 { try? await Task.sleep(for: .milliseconds(200 * attempt)) }
                problem = await runBlocking("network \(networkID)", { network.detach(networkID) })
                if problem == nil { return }
            }
            log.error("network teardown failed; retried at the next start", ["network": networkID, "error": problem ?? ""])
        }
    }

    /// A run that never got a supervisor: terminal at once, and its resources return (or it
    /// restarts, if its policy says so).
    func finishWithoutRun(_ id: String, _ state: TaskState, reason: TaskStatusReason, message: String) {
        if state == .error { metrics?.launchFailed(reason: reason.rawValue) }
        transition(id, state, reason: reason, message: message)
        scheduleRestartOrRelease(id)
    }
}

/// How a run's end maps onto Mesos states.
struct Outcome {
    var state: TaskState
    var reason: TaskStatusReason
    var message: String

    init(exit: ExitRecord?, oomKilled: Bool, record: TaskRecord) {
        guard let exit else {
            state = .lost
            reason = .executorExited
            message = "the task's supervisor exited without recording how the task ended"
            return
        }
        if exit.phase != .run && record.killRequested {
            // The kill came while the container was being made, and got there first.
            (state, reason, message) = (.killed, .killedByScheduler, "killed while starting (container \(exit.phase.rawValue) did not finish)")
            return
        }
        switch exit.phase {
        case .create, .start:
            state = .error
            reason = .launchFailed
            message = "container \(exit.phase.rawValue) failed: \(exit.message ?? "status \(exit.exitCode ?? -1)")"
            return
        case .run:
            break
        }
        let how = exit.signal.map { "killed by signal \($0)" } ?? "exited with status \(exit.exitCode ?? -1)"
        if record.killRequested {
            (state, reason, message) = (.killed, .killedByScheduler, "killed on request (\(how))")
        } else if oomKilled {
            (state, reason, message) = (.failed, .oomKilled, "OOM-killed at its memory limit of \(formatNumber(record.definition.resources.mem)) MiB (\(how))")
        } else if record.killedForHealth {
            (state, reason, message) = (.failed, .healthCheckFailed, "killed after failing its health checks (\(how))")
        } else if exit.exitCode == 0 {
            (state, reason, message) = (.finished, .exited, how)
        } else {
            (state, reason, message) = (.failed, .exited, how)
        }
    }
}
