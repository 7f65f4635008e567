import BerthLinux
import BerthOCI
#if canImport(Glibc)
import Glibc
#endif

extension Runtime {
    /// Releases a created container's process: it runs its startContainer hooks and execs.
    public func start(id: String) throws {
        try withLockedContainer(id) { record, _ in try start(record, release: .execFifo) }
    }

    /// How `start` lets a created init go on to its program.
    enum InitRelease {
        /// It waits on the exec fifo (`create`, then `start`).
        case execFifo
        /// It waits for START on this line (`run` behind a gate).
        case startLine(FileDescriptor)
        /// It went on by itself once ready (`run`): only the poststart hooks are left.
        case itself
    }

    /// Starts the container of `record`; the caller holds its lock.
    func start(_ record: ContainerRecord, release: InitRelease) throws {
        switch release {
        case .startLine(let startLine):
            guard ChildPath.release(startLine) else {
                throw RuntimeError("cannot start container \"\(record.id)\": its process exited before start")
            }
        case .execFifo:
            let status = status(of: record)
            guard status == .created else {
                throw RuntimeError("cannot start container \"\(record.id)\": it is \(status.rawValue), not created")
            }
            // No state write: with the exec fifo gone, the status reads as running.
            try releaseInit(of: record)
        case .itself:
            break
        }
        log.debug("start \(record.id): released pid \(record.pid)")
        do {
            try HookRunner(hooks: try record.hooks(), state: record.ociStateJSON(status: .running)).run(.poststart)
        } catch {
            // The spec: a failing poststart hook is a warning; the container keeps running.
            log.debug("start \(record.id): warning: \(error)")
        }
    }

    /// Opens the exec fifo for reading, which lets the init's blocking open for writing return;
    /// the byte it writes confirms it is past the fifo. A dead init is noticed through its pidfd.
    private func releaseInit(of record: ContainerRecord) throws {
        // Hold the init by pidfd before releasing it: a short container may run, exit and be
        // reaped by its parent before we look again, and its pid is gone then.
        let process = try ProcessHandle.open(pid: record.pid)
        defer { process.close() }
        let fifoPath = store.directory(of: record.id) + "/" + StateStore.execFifoName
        let fifo = try FileDescriptor.open(fifoPath, O_RDONLY | O_NONBLOCK)
        defer { fifo.close() }
        while true {
            var fds = [pollfd(fd: fifo.rawValue, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: process.pidfd.rawValue, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 2, -1) < 0 {
                if errno == EINTR { continue }
                throw SystemError("poll \(fifoPath)")
            }
            if fds[0].revents & Int16(POLLIN) != 0 {
                var byte: UInt8 = 0
                if read(fifo.rawValue, &byte, 1) == 1 { break }
            }
            if fds[1].revents != 0 || fds[0].revents & Int16(POLLHUP) != 0 {
                throw RuntimeError("cannot start container \"\(record.id)\": its process exited before start")
            }
        }
        unlink(fifoPath)
    }
}
