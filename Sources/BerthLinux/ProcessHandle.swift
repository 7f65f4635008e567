import CBerth
#if canImport(Glibc)
import Glibc
#endif

/// A process held by pidfd, so a signal or a wait can never reach a recycled pid.
public struct ProcessHandle: Sendable {
    public let pid: pid_t
    public let pidfd: FileDescriptor

    public init(pid: pid_t, pidfd: FileDescriptor) {
        self.pid = pid
        self.pidfd = pidfd
    }

    /// Opens a pidfd for an existing process.
    public static func open(pid: pid_t) throws(SystemError) -> ProcessHandle {
        let fd = try sys("pidfd_open \(pid)") { berth_pidfd_open(pid) }
        return ProcessHandle(pid: pid, pidfd: FileDescriptor(rawValue: fd))
    }

    public func signal(_ signal: Int32) throws(SystemError) {
        try sys("kill \(pid) with signal \(signal)") { berth_pidfd_send_signal(pidfd.rawValue, signal) }
    }

    /// Waits until the process ends, or until `timeout` passes (then returns nil).
    /// Only a child of this process can be reaped; for others use `waitForExit`.
    public func wait(timeout: Duration? = nil) throws(SystemError) -> ExitStatus? {
        if let timeout, !(try waitReadable(timeout: timeout)) { return nil }
        var status: Int32 = 0
        try sys("wait for \(pid)") { berth_pidfd_wait(pidfd.rawValue, &status, 0) }
        return ExitStatus(waitStatus: status)
    }

    /// True once the process has ended (a pidfd becomes readable then); waits up to `timeout`.
    public func waitReadable(timeout: Duration) throws(SystemError) -> Bool {
        var entry = pollfd(fd: pidfd.rawValue, events: Int16(POLLIN), revents: 0)
        let deadline = Deadline.after(timeout)
        while true {
            let left = deadline.remaining
            let milliseconds = left.pollMilliseconds
            let ready = poll(&entry, 1, milliseconds)
            if ready > 0 { return true }
            if ready == 0 { return false }
            if errno != EINTR { throw SystemError("poll pidfd of \(pid)") }
        }
    }

    public func close() { pidfd.close() }
}

extension Duration {
    /// This duration as poll(2)'s timeout: whole milliseconds rounded up (so a wait never spins
    /// on a sub-millisecond remainder), never negative.
    public var pollMilliseconds: Int32 {
        if self <= .zero { return 0 }
        let (seconds, attoseconds) = components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }
}
