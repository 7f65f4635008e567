import BerthLinux
import BerthOCI
import CBerth
#if canImport(Glibc)
import Glibc
#endif

public struct ExecOptions: Sendable {
    /// Changes to the container's own process, as `berth exec` flags give them.
    public struct Overrides: Sendable {
        public var arguments: [String] = []
        public var environment: [String] = []
        public var cwd: String?
        public var terminal = false
        public var uid: UInt32?
        public var gid: UInt32?
        public var additionalGids: [UInt32] = []
        public var addCapabilities: [String] = []
        public var noNewPrivileges = false
        public init() {}
    }

    /// A whole process (`--process process.json`), or nil to use `overrides`.
    public var process: Spec.Process?
    public var overrides = Overrides()
    public var consoleSocket: String?
    public var detach = false
    public var pidFile: String?
    public var preserveFDs = 0
    public var ignorePaused = false
    public init() {}
}

extension Runtime {
    /// Runs a new process in a running container's namespaces and cgroup. In the foreground it
    /// returns the process's exit status (128 + signal when killed); detached, 0.
    public func exec(id: String, options: ExecOptions) throws -> Int32 {
        let lock = try store.lock(id: id)
        var lockHeld = true
        defer { if lockHeld { lock.unlock() } }
        let record = try store.load(id: id)
        let status = status(of: record)
        guard status == .running || (status == .paused && options.ignorePaused) else {
            throw RuntimeError("cannot exec in container \"\(id)\": it is \(status.rawValue)")
        }
        let spec = try record.spec()
        let process = try execProcess(spec, options)
        let linux = spec.linux ?? Spec.Linux()
        var plan = ChildPlan()
        plan.mode = .exec
        plan.process = try PlanBuilder.process(process, linux: linux)
        plan.namespaces = (linux.namespaces ?? []).compactMap { namespace in
            guard let flag = LinuxNamespace.cloneFlags[namespace.type], let name = LinuxNamespace.procName[namespace.type] else { return nil }
            return ChildPlan.Namespace(type: Int32(flag), path: "/proc/\(record.pid)/ns/\(name)", field: "linux.namespaces")
        }
        plan.process.preserveFDs = (0..<options.preserveFDs).map { 3 + Int32($0) }

        let terminal = process.terminal ?? false
        if terminal && options.consoleSocket == nil && options.detach {
            throw RuntimeError("exec: a terminal needs --console-socket with --detach")
        }
        var consoleFD: Int32 = -1, callerEnd: Int32 = -1
        defer {
            if consoleFD >= 0 { close(consoleFD) }
            if callerEnd >= 0 { close(callerEnd) }
        }
        if terminal {
            (callerEnd, consoleFD) = try ConsoleSocket.open(options.consoleSocket)
            plan.process.consoleSocket = consoleFD
        }
        let pid: pid_t
        do {
            let entry = try record.cgroup?.openEntryFiles()
            defer { entry?.close() }
            pid = try ChildPath.run(plan, cgroup: entry, handlers: ChildPathHandlers()).pid
        } catch {
            throw RuntimeError("exec: \(error)")
        }
        let handle = try ProcessHandle.open(pid: pid)
        defer { handle.close() }
        lock.unlock()
        lockHeld = false
        if let pidFile = options.pidFile {
            try FileSystem.writeAtomically(Array(String(pid).utf8), to: absolutePath(pidFile), durable: false)
        }
        if options.detach { return 0 }
        var master: FileDescriptor?
        if callerEnd >= 0 {
            master = FileDescriptor(rawValue: try sys("receive the pty master") { berth_recv_fd(callerEnd) })
        }
        defer { master?.close() }
        return try Foreground.wait(for: handle, master: master).shellCode
    }

    /// The process to exec: a whole one from process.json, or the container's own with overrides.
    private func execProcess(_ spec: Spec, _ options: ExecOptions) throws -> Spec.Process {
        if var process = options.process {
            try process.validate(source: "process.json")
            if process.env == nil { process.env = spec.process?.env }
            return process
        }
        guard var process = spec.process else { throw RuntimeError("exec: the container has no process to start from") }
        let overrides = options.overrides
        process.args = overrides.arguments
        process.env = (process.env ?? []) + overrides.environment
        if let cwd = overrides.cwd { process.cwd = cwd }
        process.terminal = overrides.terminal
        if let uid = overrides.uid { process.user.uid = uid }
        if let gid = overrides.gid { process.user.gid = gid }
        if !overrides.additionalGids.isEmpty { process.user.additionalGids = overrides.additionalGids }
        if overrides.noNewPrivileges { process.noNewPrivileges = true }
        for (index, name) in overrides.addCapabilities.enumerated() {
            guard LinuxCapability.number(name) != nil else {
                throw RuntimeError("exec: --cap[\(index)]: unknown capability \"\(name)\"")
            }
            var sets = process.capabilities ?? Spec.Capabilities()
            for keyPath in [\Spec.Capabilities.bounding, \.effective, \.permitted, \.ambient] {
                var list = sets[keyPath: keyPath] ?? []
                if !list.contains(name) { list.append(name) }
                sets[keyPath: keyPath] = list
            }
            sets.inheritable = Array(Set((sets.inheritable ?? []) + [name])).sorted()
            process.capabilities = sets
        }
        return process
    }
}
