import BerthCgroups
import BerthLinux
import CBerth
#if canImport(Glibc)
import Glibc
#endif

/// What the parent does at each sync point of the child path.
struct ChildPathHandlers {
    /// Write uid_map, gid_map (and setgroups) of this pid.
    var writeIDMaps: (pid_t) throws -> Void = { _ in }
    /// The init (or exec'd process) exists, in its v2 cgroup; say what GO brings it.
    var initStarted: (pid_t) throws -> InitGo = { _ in InitGo() }
    /// Mounts are done, pivot_root is next: run prestart, createRuntime, createContainer hooks.
    var runCreateHooks: (pid_t) throws -> Void = { _ in }
}

/// What GO brings a new process.
struct InitGo {
    /// The state JSON for startContainer hooks.
    var state: [UInt8] = []
    /// A new container's v1 cgroups' entry files, which it enters next (closed once sent).
    var cgroup = CgroupEntryFiles()
    /// With `.startLine`: the caller's own go came already, so the init goes on after READY
    /// without waiting for START.
    var startsAtReady = false
}

/// A step of the child path failed; `message` names the config field when there is one.
public struct ChildPathError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Drives the C child path through its sync protocol.
enum ChildPath {
    /// The child sends at most an error line (built in 2 KiB); a longer message would be cut.
    static let largestChildMessage = 4096

    /// How a created init is released: it waits on the exec fifo for `start` (another berth
    /// process), or for START on the sync socket from the one that created it (`run` behind a
    /// gate), or it goes on by itself once ready (`run`).
    enum Release {
        case execFifo(stateDirFD: Int32, name: String)
        case startLine
        case atReady
    }

    /// Runs the plan until the init is ready (create) or the process has exec'd (exec), and
    /// returns its pid, with the sync socket's end for `.startLine` (see `release(_:)`). The
    /// process starts inside `cgroup` (the caller closes its files). On any failure the child
    /// processes are killed and reaped before this throws.
    static func run(_ plan: ChildPlan, release: Release? = nil, cgroup: CgroupEntryFiles?, handlers: ChildPathHandlers) throws -> (pid: pid_t, startLine: FileDescriptor?) {
        var pair: [Int32] = [-1, -1]
        try sys("socketpair") { socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) }
        let parentFD = pair[0]
        var keepParentFD = false
        defer { if !keepParentFD { close(parentFD) } }
        let memory = CMemory()
        var fifo: (stateDirFD: Int32, name: String)?
        if case .execFifo(let stateDirFD, let name)? = release { fifo = (stateDirFD, name) }
        var cPlan = plan.cPlan(in: memory, syncFD: pair[1], stateDirFD: fifo?.stateDirFD ?? -1, execFifoName: fifo?.name, cgroup: cgroup)
        if case .startLine? = release { cPlan.start_on_sync = 1 }
        let stage1 = berth_plan_start(&cPlan)
        let startError = Errno.current
        close(pair[1])
        if stage1 < 0 { throw SystemError("start the container process", startError) }

        var initPID: pid_t = 0
        var stage1Reaped = false
        func reapStage1() {
            if stage1Reaped { return }
            var status: Int32 = 0
            while waitpid(stage1, &status, 0) < 0 && errno == EINTR {}
            stage1Reaped = true
        }
        func abandon() {
            if initPID > 0 {
                kill(initPID, SIGKILL)
                var status: Int32 = 0
                while waitpid(initPID, &status, 0) < 0 && errno == EINTR {}
            }
            if !stage1Reaped { kill(stage1, SIGKILL) }
            reapStage1()
        }

        var header = berth_sync_header()
        var payload = [UInt8](repeating: 0, count: ChildPath.largestChildMessage)
        var startsAtReady = false
        do {
            while true {
                let length = payload.withUnsafeMutableBytes { berth_sync_recv(parentFD, &header, $0.baseAddress, $0.count) }
                if length < 0 { throw SystemError("read from the container process") }
                if length == 0 && header.type == 0 {
                    // EOF: an exec'd process closed its end by execve; anything else died silently.
                    if plan.mode == .exec && initPID > 0 { return (initPID, nil) }
                    throw ChildPathError(message: "the container process exited during set-up without saying why")
                }
                let text = String(decoding: payload[0..<max(0, length)], as: UTF8.self)
                switch Int(header.type) {
                case Int(BERTH_SYNC_ID_MAPS.rawValue):
                    try handlers.writeIDMaps(stage1)
                    try send(parentFD, BERTH_SYNC_ID_MAPS_DONE)
                case Int(BERTH_SYNC_INIT_PID.rawValue):
                    initPID = pid_t(header.value)
                    // Without a stage 1 the first child is the init itself: nothing to reap.
                    if initPID == stage1 { stage1Reaped = true } else { reapStage1() }
                    let go = try handlers.initStarted(initPID)
                    defer { go.cgroup.close() }
                    startsAtReady = go.startsAtReady
                    try send(parentFD, BERTH_SYNC_INIT_GO, value: startsAtReady ? 1 : 0, payload: go.state, files: go.cgroup.v1Tasks)
                case Int(BERTH_SYNC_HOOKS.rawValue):
                    try handlers.runCreateHooks(initPID)
                    try send(parentFD, BERTH_SYNC_HOOKS_DONE)
                case Int(BERTH_SYNC_READY.rawValue):
                    guard case .startLine? = release, !startsAtReady else { return (initPID, nil) }
                    keepParentFD = true
                    return (initPID, FileDescriptor(rawValue: parentFD))
                case Int(BERTH_SYNC_ERROR.rawValue):
                    throw ChildPathError(message: text)
                default:
                    throw ChildPathError(message: "unexpected message \(header.type) from the container process")
                }
                header = berth_sync_header()
            }
        } catch {
            // Our failure (ESRCH, EPIPE) may only be the echo of the child's own, which it sent
            // before it exited: once the children are reaped, whatever they said is queued on
            // the socket. Prefer that reason.
            abandon()
            throw pendingChildError(parentFD) ?? error
        }
    }

    /// Releases an init waiting for START on `startLine`; returns once the init has closed its
    /// end, which it does right after START (or by dying). Closes `startLine`. False when the
    /// init was gone before START could be sent.
    static func release(_ startLine: FileDescriptor) -> Bool {
        defer { startLine.close() }
        let sent = berth_sync_send(startLine.rawValue, BERTH_SYNC_START.rawValue, 0, nil, 0) == 0
        var byte: UInt8 = 0
        // Nothing else comes after READY: the child reports later failures on its stderr.
        while true {
            var header = berth_sync_header()
            if berth_sync_recv(startLine.rawValue, &header, &byte, 1) < 0 || header.type == 0 { break }
        }
        return sent
    }

    /// An ERROR message the (reaped) child left on the socket.
    private static func pendingChildError(_ fd: Int32) -> ChildPathError? {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var header = berth_sync_header()
        var payload = [UInt8](repeating: 0, count: ChildPath.largestChildMessage)
        while poll(&entry, 1, 0) > 0 {
            let length = payload.withUnsafeMutableBytes { berth_sync_recv(fd, &header, $0.baseAddress, $0.count) }
            if length < 0 || (length == 0 && header.type == 0) { return nil }
            if header.type == BERTH_SYNC_ERROR.rawValue {
                return ChildPathError(message: String(decoding: payload[0..<length], as: UTF8.self))
            }
            header = berth_sync_header()
        }
        return nil
    }

    private static func send(_ fd: Int32, _ type: berth_sync_type, value: Int64 = 0, payload: [UInt8] = [], files: [Int32] = []) throws {
        let result = payload.withUnsafeBytes { bytes in
            files.withUnsafeBufferPointer { berth_sync_send_fds(fd, type.rawValue, value, bytes.baseAddress, UInt32(bytes.count), $0.baseAddress, $0.count) }
        }
        if result < 0 { throw SystemError("write to the container process") }
    }
}
