import BerthLinux
import BerthOCI
#if canImport(Glibc)
import Glibc
#endif

extension Runtime {
    /// Sends `signal` to the container's init, or with `all` to every process in its cgroup.
    public func kill(id: String, signal: Int32, all: Bool) throws {
        try withLockedContainer(id) { record, _ in
            let status = status(of: record)
            guard status != .stopped else {
                throw RuntimeError("cannot kill container \"\(id)\": it is stopped")
            }
            if all, let cgroup = record.cgroup {
                try cgroup.signalAll(signal)
            } else {
                // The init may have exited (and been reaped) since the status check.
                guard let process = try? ProcessHandle.open(pid: record.pid) else {
                    throw RuntimeError("cannot kill container \"\(id)\": it is stopped")
                }
                defer { process.close() }
                guard ProcFS.isRunning(pid: record.pid, startTime: record.pidStartTime) else {
                    throw RuntimeError("cannot kill container \"\(id)\": it is stopped")
                }
                try process.signal(signal)
            }
            log.debug("kill \(id): sent signal \(signal)\(all ? " to every process" : "")")
        }
    }
}
