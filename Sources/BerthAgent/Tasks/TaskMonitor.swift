import BerthLinux
import CBerth
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Watches every supervised run from one thread: the supervisor's pidfd says when it is gone,
/// and inotify on the run directory says when the task was started: `berth run` renames its
/// pid file `init.pid` into place once the container has started (the supervisor's `started`,
/// after `berth run` has exited, counts too if it comes first). Each run's start is delivered
/// once. Events go to the agent through `deliver`.
final class TaskMonitor: Sendable {
    enum Event: Sendable {
        case started(taskID: String, run: Int)
        /// The supervisor exited (its exit.json, if any, is complete by then).
        case ended(taskID: String, run: Int)
    }

    private struct Watch {
        var taskID: String
        var run: Int
        var supervisor: ProcessHandle
        var directoryWatch: Int32
        var startDelivered = false
    }

    private struct State {
        var watches: [String: Watch] = [:]
    }

    private let state = Mutex(State())
    private let inotify: FileDescriptor
    private let wake: FileDescriptor
    private let deliver: @Sendable (Event) -> Void

    init(deliver: @escaping @Sendable (Event) -> Void) throws(SystemError) {
        inotify = FileDescriptor(rawValue: try sys("inotify_init1") { inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK)) })
        wake = FileDescriptor(rawValue: try sys("eventfd") { berth_eventfd_cloexec() })
        _ = fcntl(wake.rawValue, F_SETFL, fcntl(wake.rawValue, F_GETFL) | O_NONBLOCK)
        self.deliver = deliver
        try startThread(named: "task-monitor") { [self] in loop() }
    }

    /// Starts watching a run whose supervisor is `supervisor` (pid and start time from its
    /// record, so a recycled pid is never mistaken for it). If it is already gone, `ended`
    /// is delivered at once.
    func watch(taskID: String, run: Int, supervisorPID: Int32, startTime: UInt64, runDirectory: String) {
        guard ProcFS.isRunning(pid: supervisorPID, startTime: startTime),
              let handle = try? ProcessHandle.open(pid: supervisorPID),
              ProcFS.startTime(of: supervisorPID) == startTime
        else {
            deliver(.ended(taskID: taskID, run: run))
            return
        }
        let mask = UInt32(IN_MOVED_TO) | UInt32(IN_CLOSE_WRITE)
        let wd = inotify_add_watch(inotify.rawValue, runDirectory, mask)
        let previous = state.withLock { state -> Watch? in
            let old = state.watches[taskID]
            state.watches[taskID] = Watch(taskID: taskID, run: run, supervisor: handle, directoryWatch: wd)
            return old
        }
        if let previous { forget(previous) }
        // The task may have started before the watch existed.
        if TaskLayout.hasStarted(runDirectory: runDirectory) { deliverStart(directoryWatch: wd) }
        poke()
    }

    func unwatch(taskID: String) {
        if let old = state.withLock({ $0.watches.removeValue(forKey: taskID) }) { forget(old) }
        poke()
    }

    private func forget(_ watch: Watch) {
        if watch.directoryWatch >= 0 { inotify_rm_watch(inotify.rawValue, watch.directoryWatch) }
        watch.supervisor.close()
    }

    /// `started` for the run watched through `directoryWatch`, unless it had it already.
    private func deliverStart(directoryWatch wd: Int32) {
        let first = state.withLock { state -> Watch? in
            guard let key = state.watches.first(where: { $0.value.directoryWatch == wd })?.key,
                  state.watches[key]?.startDelivered == false else { return nil }
            state.watches[key]?.startDelivered = true
            return state.watches[key]
        }
        if let first { deliver(.started(taskID: first.taskID, run: first.run)) }
    }

    private func poke() {
        var one: UInt64 = 1
        _ = write(wake.rawValue, &one, 8)
    }

    private func loop() {
        while true {
            let watches = state.withLock { Array($0.watches.values) }
            var fds = [pollfd(fd: wake.rawValue, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: inotify.rawValue, events: Int16(POLLIN), revents: 0)]
            fds += watches.map { pollfd(fd: $0.supervisor.pidfd.rawValue, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), -1)
            if ready < 0 { continue }
            if fds[0].revents != 0 {
                var value: UInt64 = 0
                _ = read(wake.rawValue, &value, 8)
            }
            if fds[1].revents != 0 { readInotify() }
            for (index, watch) in watches.enumerated() where fds[index + 2].revents != 0 {
                let current = state.withLock { state -> Bool in
                    guard state.watches[watch.taskID]?.supervisor.pidfd == watch.supervisor.pidfd else { return false }
                    state.watches[watch.taskID] = nil
                    return true
                }
                if current {
                    forget(watch)
                    deliver(.ended(taskID: watch.taskID, run: watch.run))
                }
            }
        }
    }

    private func readInotify() {
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(inotify.rawValue, $0.baseAddress, $0.count) }
            if count <= 0 { return }
            var offset = 0
            // struct inotify_event: wd, mask, cookie, len, then len bytes of NUL-padded name.
            while offset + 16 <= count {
                let wd = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Int32.self) }
                let length = Int(buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self) })
                let nameBytes = buffer[(offset + 16)..<min(count, offset + 16 + length)].prefix { $0 != 0 }
                let name = String(decoding: nameBytes, as: UTF8.self)
                offset += 16 + length
                // Looked up now, not in the list this poll began with: a run watched since then
                // may already have been started, and its event comes only once. (An event read
                // before `watch` records the run is caught by its own check for the marks.)
                if TaskLayout.startMarks.contains(name) { deliverStart(directoryWatch: wd) }
            }
        }
    }
}
