import BerthLinux
import BerthOCI
import CBerth
#if canImport(Glibc)
import Glibc
#endif

public struct CreateOptions: Sendable {
    public var bundle: String
    public var pidFile: String?
    public var consoleSocket: String?
    public var preserveFDs: Int
    public init(bundle: String = ".", pidFile: String? = nil, consoleSocket: String? = nil, preserveFDs: Int = 0) {
        self.bundle = bundle
        self.pidFile = pidFile
        self.consoleSocket = consoleSocket
        self.preserveFDs = preserveFDs
    }
}

extension Runtime {
    /// Creates the container: namespaces, cgroup, rootfs and mounts are in place and its process
    /// waits for `start`. Any failure removes everything this call made.
    public func create(id: String, options: CreateOptions) throws {
        let created = try createContainer(id: id, options: options, terminalToCaller: false)
        created.lock.unlock()
    }

    /// Who lets the init of a new container go on to its program once it is ready.
    enum Starter {
        /// A later `berth start`, through the exec fifo.
        case startCommand
        /// The caller, with START on the start line (`run` behind a gate). `goneAhead`, asked
        /// before GO, says whether the caller's go came already: then the init goes on after
        /// READY by itself.
        case caller(goneAhead: () throws -> Bool)
        /// Nobody: it goes on by itself (`run`).
        case itself
    }

    /// A container `create` made, still locked: `run` starts it before anyone else may act on it.
    struct CreatedContainer {
        var record: ContainerRecord
        /// The pty master when the terminal came back to the caller.
        var master: FileDescriptor?
        var lock: ContainerLock
        /// Started by `.caller`: what releases the init (ChildPath.release). Closing it instead
        /// ends the init.
        var startLine: FileDescriptor?
    }

    /// Creates the container; with `terminalToCaller` a pty master for a process that asks for a
    /// terminal comes back to us instead of going to a console socket. The caller unlocks it.
    /// Only a separate `start` needs an exec fifo: for `run` the init waits for the caller's
    /// START, or for nobody.
    func createContainer(id: String, options: CreateOptions, terminalToCaller: Bool, startedBy starter: Starter = .startCommand) throws -> CreatedContainer {
        let bundle = try absoluteBundle(options.bundle)
        let (loaded, document) = try Spec.loadDocument(path: bundle + "/config.json")
        try loaded.validate()
        // GPUs asked for by annotation become linux.devices, device allows and environment.
        let spec = try GPUInjection.apply(to: loaded, log: log)
        let terminal = spec.process?.terminal ?? false
        if terminal && options.consoleSocket == nil && !terminalToCaller {
            throw RuntimeError("config.json: process.terminal: a terminal needs --console-socket when berth does not stay in the foreground")
        }
        if !terminal && options.consoleSocket != nil {
            throw RuntimeError("--console-socket: given, but process.terminal is false")
        }

        let lock = try store.claim(id: id)
        var locked = true
        defer { if locked { lock.unlock() } }
        // The config as parsed is what state.json keeps, unless GPUs were added to it.
        let specDocument = GPUInjection.isRequested(by: loaded) ? Deferred(spec) : document
        var record = ContainerRecord(id: id, bundle: bundle, rootfs: "", specDocument: specDocument)
        var consoleFD: Int32 = -1
        var callerEnd: Int32 = -1
        var startLine: FileDescriptor?
        // State is written twice: once the cgroup exists (so `delete --force` after a killed
        // create finds it; before that the claimed directory alone is enough), and at the end.
        do {
            let builderBase = PlanBuilder(spec: spec, bundle: bundle)
            record.rootfs = try builderBase.rootfsPath()
            // The init is born into the v2 directory. The rest of the cgroup, and its limits, are
            // made while it makes its namespaces; it enters the v1 part on GO, before it mounts
            // the cgroup or makes device nodes.
            let (cgroup, limits) = try ContainerCgroup.createForBirth(id: id, cgroupsPath: spec.linux?.cgroupsPath, resources: spec.linux?.resources, devices: spec.linux?.devices ?? [])
            record.cgroup = cgroup
            let cgroupEntry = try cgroup.openEntryFiles(version: 2)
            defer { cgroupEntry.close() }

            var builder = builderBase
            builder.cgroupDirectories = cgroup.mountDirectories
            var plan = try builder.build()
            if terminal {
                (callerEnd, consoleFD) = try ConsoleSocket.open(options.consoleSocket)
                plan.process.consoleSocket = consoleFD
            }
            plan.process.preserveFDs = (0..<options.preserveFDs).map { 3 + Int32($0) }

            var directoryFD: FileDescriptor?
            defer { directoryFD?.close() }
            if case .startCommand = starter {
                let directory = store.directory(of: id)
                let fifo = directory + "/" + StateStore.execFifoName
                try sys("mkfifo \(fifo)") { mkfifo(fifo, 0o622) }
                if plan.waitForIDMaps {
                    // The init opens the fifo as the container's root, which is another uid here.
                    let owner = IDMaps.hostID(of: 0, in: spec.linux?.uidMappings)
                    let group = IDMaps.hostID(of: 0, in: spec.linux?.gidMappings)
                    try sys("chown \(fifo)") { chown(fifo, owner, group) }
                }
                directoryFD = try FileDescriptor.open(directory, O_PATH | O_DIRECTORY)
            }

            let hooks = spec.hooks
            var handlers = ChildPathHandlers()
            handlers.writeIDMaps = { pid in try IDMaps.write(linux: spec.linux, pid: pid) }
            handlers.initStarted = { pid in
                record.pid = pid
                record.pidStartTime = ProcFS.startTime(of: pid)
                let v1Entry = try record.cgroup!.complete(limits)
                // Only startContainer hooks read the state.
                var go = InitGo(state: plan.startHooks.isEmpty ? [] : record.ociStateJSON(status: .creating), cgroup: v1Entry)
                do {
                    try store.save(record)
                    if let score = spec.process?.oomScoreAdj {
                        try FileSystem.writeKnob(String(score), to: "/proc/\(pid)/oom_score_adj")
                    }
                    if case .caller(let goneAhead) = starter { go.startsAtReady = try goneAhead() }
                } catch {
                    v1Entry.close()
                    throw error
                }
                return go
            }
            handlers.runCreateHooks = { pid in
                let runner = HookRunner(hooks: hooks, state: record.ociStateJSON(status: .creating))
                try runner.run(.prestart)
                try runner.run(.createRuntime)
                try runner.run(.createContainer, containerNamespacesOf: pid, types: plan.joinableNamespaceMask)
            }
            log.debug("create \(id): starting the container process")
            let release: ChildPath.Release = directoryFD.map { .execFifo(stateDirFD: $0.rawValue, name: StateStore.execFifoName) } ?? (isCaller(starter) ? .startLine : .atReady)
            startLine = try ChildPath.run(plan, release: release, cgroup: cgroupEntry, handlers: handlers).startLine
            if consoleFD >= 0 { close(consoleFD); consoleFD = -1 }
            record.status = .created
            try store.save(record)
            if let pidFile = options.pidFile {
                try FileSystem.writeAtomically(Array(String(record.pid).utf8), to: absolutePath(pidFile), durable: false)
            }
            var master: FileDescriptor?
            if callerEnd >= 0 {
                master = FileDescriptor(rawValue: try sys("receive the pty master") { berth_recv_fd(callerEnd) })
                close(callerEnd)
            }
            locked = false
            return CreatedContainer(record: record, master: master, lock: lock, startLine: startLine)
        } catch {
            startLine?.close()
            if consoleFD >= 0 { close(consoleFD) }
            if callerEnd >= 0 { close(callerEnd) }
            removeAfterFailure(record)
            // Config errors already name config.json; everything else is a step of create.
            let message = String(describing: error)
            if error is OCIError || error is LaunchWithdrawn || message.hasPrefix("config.json:") || message.hasPrefix("--") { throw error }
            throw RuntimeError("create: \(message)")
        }
    }

    private func isCaller(_ starter: Starter) -> Bool {
        if case .caller = starter { return true }
        return false
    }

    /// Undoes a create that failed: the processes are already gone (ChildPath reaps them).
    private func removeAfterFailure(_ record: ContainerRecord) {
        if let cgroup = record.cgroup { try? cgroup.destroy() }
        try? store.remove(id: record.id)
    }

    func absoluteBundle(_ bundle: String) throws -> String {
        guard let resolved = realpath(bundle, nil) else {
            throw RuntimeError("--bundle: \(bundle): \(Errno.current)")
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    func absolutePath(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileSystem.currentDirectory() + "/" + path
    }
}

extension ChildPlan {
    /// The namespaces a helper can join with setns without forking again (not pid, not user).
    var joinableNamespaceMask: Int32 {
        namespaces.map(\.type).filter { $0 != Int32(CLONE_NEWPID) && $0 != Int32(CLONE_NEWUSER) }.reduce(0, |)
    }
}

/// Writes a new user namespace's id maps from the parent.
enum IDMaps {
    static func write(linux: Spec.Linux?, pid: pid_t) throws {
        func lines(_ maps: [Spec.IDMapping]?) -> String {
            (maps ?? []).map { "\($0.containerID) \($0.hostID) \($0.size)\n" }.joined()
        }
        try FileSystem.writeKnob(lines(linux?.gidMappings), to: "/proc/\(pid)/gid_map")
        try FileSystem.writeKnob(lines(linux?.uidMappings), to: "/proc/\(pid)/uid_map")
    }

    /// The host id a container id maps to (itself when no range holds it).
    static func hostID(of id: UInt32, in maps: [Spec.IDMapping]?) -> UInt32 {
        for map in maps ?? [] where id >= map.containerID && id - map.containerID < map.size {
            return map.hostID + (id - map.containerID)
        }
        return id
    }
}
