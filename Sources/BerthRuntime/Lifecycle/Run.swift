import BerthLinux
import BerthOCI
#if canImport(Glibc)
import Glibc
#endif

extension Runtime {
    /// create + start; in the foreground, waits and returns the exit status as a shell would
    /// (128 + signal), then deletes the container unless `keep`.
    public func run(id: String, options: CreateOptions, detach: Bool, keep: Bool = false) throws -> Int32 {
        let (pid, master) = try createContainer(id: id, options: options, terminalToCaller: !detach)
        defer { master?.close() }
        // As parent of the init (CLONE_PARENT) we can hold it by pidfd and reap it.
        let process = try ProcessHandle.open(pid: pid)
        defer { process.close() }
        do {
            try start(id: id)
        } catch {
            try? delete(id: id, force: true)
            throw error
        }
        if detach { return 0 }
        let status = try Foreground.wait(for: process, master: master)
        log.debug("run \(id): \(status)")
        if !keep { try delete(id: id, force: true) }
        return status.shellCode
    }
}
