import BerthLinux
import CBerth
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Blocks until the memory controller reports an OOM in one cgroup.
/// v2: inotify on memory.events (the kernel signals a modification when a counter moves); an
/// event is an oom_kill.
/// v1: an eventfd registered through cgroup.event_control for memory.oom_control (the kernel
/// also signals it when the cgroup is removed).
/// `next()` may run on any thread; `cancel()` from another one wakes it. Files close on deinit.
public final class OOMWatcher: Sendable {
    public enum Event: Sendable, Equatable {
        /// An OOM happened; `kills` is the cgroup's oom_kill count now.
        case oom(kills: UInt64?)
        case cgroupRemoved
        case cancelled
    }

    private enum Kind: Sendable {
        case v1(eventFD: Int32, controlFD: Int32)
        case v2(inotifyFD: Int32)
    }

    private let kind: Kind
    private let directory: String
    private let cancelFD: Int32
    /// v2: the oom and oom_kill counters last reported, so each OOM is told once.
    private let seen: Mutex<(UInt64, UInt64)>

    init(v2Directory: String) throws(CgroupError) {
        directory = v2Directory
        let events = v2Directory + "/memory.events"
        let counters = CgroupFile.keyed(events)
        seen = Mutex((counters["oom"] ?? 0, counters["oom_kill"] ?? 0))
        let inotify = inotify_init1(Int32(IN_CLOEXEC))
        guard inotify >= 0 else { throw CgroupError("watch \(events): inotify: \(Errno.current)", errno: .current) }
        if inotify_add_watch(inotify, events, UInt32(IN_MODIFY)) < 0 {
            let error = Errno.current
            Glibc.close(inotify)
            throw CgroupError("watch \(events): \(error)", errno: error)
        }
        let cancel = berth_eventfd_cloexec()
        guard cancel >= 0 else {
            Glibc.close(inotify)
            throw CgroupError("watch \(events): eventfd: \(Errno.current)", errno: .current)
        }
        kind = .v2(inotifyFD: inotify)
        cancelFD = cancel
    }

    init(v1MemoryDirectory: String) throws(CgroupError) {
        directory = v1MemoryDirectory
        seen = Mutex((0, 0))
        let control = v1MemoryDirectory + "/memory.oom_control"
        let efd = berth_eventfd_cloexec()
        guard efd >= 0 else { throw CgroupError("watch \(control): eventfd: \(Errno.current)", errno: .current) }
        let cancel = berth_eventfd_cloexec()
        guard cancel >= 0 else {
            Glibc.close(efd)
            throw CgroupError("watch \(control): eventfd: \(Errno.current)", errno: .current)
        }
        let ofd: FileDescriptor
        do {
            ofd = try FileDescriptor.open(control, O_RDONLY)
            try FileSystem.writeKnob("\(efd) \(ofd.rawValue)", to: v1MemoryDirectory + "/cgroup.event_control")
        } catch {
            Glibc.close(efd)
            Glibc.close(cancel)
            throw CgroupError("watch \(control): \(error)", errno: error.errno)
        }
        kind = .v1(eventFD: efd, controlFD: ofd.rawValue)
        cancelFD = cancel
    }

    deinit {
        switch kind {
        case .v1(let efd, let control):
            Glibc.close(efd)
            Glibc.close(control)
        case .v2(let inotify):
            Glibc.close(inotify)
        }
        Glibc.close(cancelFD)
    }

    /// Wakes a `next()` blocked in another thread; every later `next()` returns `.cancelled`.
    public func cancel() {
        var one: UInt64 = 1
        _ = Glibc.write(cancelFD, &one, 8)
    }

    /// What `wait(until:orReadable:)` ends with.
    public enum Wait: Sendable, Equatable {
        case event(Event)
        /// The deadline came first.
        case deadline
        /// The extra descriptor became readable first (a pidfd: its process ended). An OOM that
        /// happened before it is reported first.
        case readable
    }

    /// Blocks until an OOM, the removal of the cgroup, or `cancel()`.
    public func next() throws(CgroupError) -> Event {
        while true {
            if case .event(let event) = try wait(deadline: nil, extra: nil) { return event }
        }
    }

    /// Like `next()`, but gives up at `deadline` and also wakes when `extra` becomes readable,
    /// so one thread can watch for OOMs, time its own work and notice its container's end.
    public func wait(until deadline: Deadline, orReadable extra: Int32? = nil) throws(CgroupError) -> Wait {
        try wait(deadline: deadline, extra: extra)
    }

    private func wait(deadline: Deadline?, extra: Int32?) throws(CgroupError) -> Wait {
        while true {
            if case .v2 = kind, let event = checkV2() { return .event(event) }
            // kernfs sends no inotify event when a v2 cgroup is removed: look once a second.
            var timeout: Int32 = 1000
            if let deadline {
                let left = deadline.remaining
                if left <= .zero { return .deadline }
                timeout = min(timeout, left.pollMilliseconds)
            }
            var fds = [pollfd(fd: watchedFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: cancelFD, events: Int16(POLLIN), revents: 0)]
            if let extra { fds.append(pollfd(fd: extra, events: Int16(POLLIN), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready < 0 {
                if errno == EINTR { continue }
                throw CgroupError("wait for OOM in \(directory): \(Errno.current)", errno: .current)
            }
            if ready == 0 {
                if !FileSystem.isDirectory(directory) { return .event(.cgroupRemoved) }
                continue
            }
            if fds[1].revents != 0 { return .event(.cancelled) }
            if fds[0].revents != 0, let event = consume() { return .event(event) }
            if fds.count > 2, fds[2].revents != 0 {
                // The kernel counts the kill before the victim can exit, but the v1 eventfd may
                // have been looked at just before: look again before saying "ended".
                if case .v1 = kind {
                    var again = pollfd(fd: watchedFD, events: Int16(POLLIN), revents: 0)
                    if poll(&again, 1, 0) > 0, let event = consume() { return .event(event) }
                } else if let event = checkV2() {
                    return .event(event)
                }
                return .readable
            }
        }
    }

    private var watchedFD: Int32 {
        switch kind {
        case .v1(let efd, _): return efd
        case .v2(let inotify): return inotify
        }
    }

    /// Reads what made the watched descriptor readable; nil when it was nothing new.
    private func consume() -> Event? {
        switch kind {
        case .v1(let efd, _):
            var count: UInt64 = 0
            _ = Glibc.read(efd, &count, 8)
            // The same eventfd fires when the cgroup goes away.
            if !FileSystem.exists(directory + "/memory.oom_control") { return .cgroupRemoved }
            return .oom(kills: CgroupFile.keyed(directory + "/memory.oom_control")["oom_kill"])
        case .v2(let inotify):
            var buffer = [UInt8](repeating: 0, count: 4096)
            let length = buffer.withUnsafeMutableBytes { Glibc.read(inotify, $0.baseAddress, $0.count) }
            var offset = 0
            var removed = false
            // struct inotify_event { int wd; uint32_t mask, cookie, len; char name[]; }
            while length > 0 && offset + 16 <= length {
                let mask = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self) }
                let nameLength = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self) }
                if mask & UInt32(IN_IGNORED) != 0 || mask & UInt32(IN_DELETE_SELF) != 0 { removed = true }
                offset += 16 + Int(nameLength)
            }
            if let event = checkV2() { return event }
            if removed || !FileSystem.exists(directory + "/memory.events") { return .cgroupRemoved }
            return nil
        }
    }

    private func checkV2() -> Event? {
        let counters = CgroupFile.keyed(directory + "/memory.events")
        let now = (counters["oom"] ?? 0, counters["oom_kill"] ?? 0)
        // oom_kill, not oom: "oom" moves first, and counting both would tell one kill twice.
        let moved = seen.withLock { last -> Bool in
            defer { last = now }
            return now.1 > last.1
        }
        return moved ? .oom(kills: now.1) : nil
    }
}
