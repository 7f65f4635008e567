import BerthLinux
import BerthOCI
#if canImport(Glibc)
import Glibc
#endif

/// `berth run --gate-fd` saw its gate end before the go: nothing of the container is left.
public struct LaunchWithdrawn: Error, CustomStringConvertible {
    public var description: String { "the launch was withdrawn (--gate-fd ended before its go)" }
}

extension Runtime {
    /// create + start; in the foreground, waits and returns the exit status as a shell would
    /// (128 + signal), then deletes the container unless `keep`. The pid file is written once
    /// the container has started, as runc's `run` does: its appearance says the process runs
    /// (berthd reports RUNNING on it, without waiting for this process to exit).
    ///
    /// With a `gate` (a pipe from berthd, through its supervisor) the run waits for "b" before
    /// it reads the bundle, and for "g" once the container is made, before its process starts:
    /// berthd says the bundle is ready, then that the task is durably admitted, and meanwhile
    /// this process starts and makes the container. EOF first throws LaunchWithdrawn. When "g"
    /// is there before the init's GO, and without a gate, the init goes on to its program as
    /// soon as it is ready: a START would only cost both processes a wake-up.
    public func run(id: String, options: CreateOptions, detach: Bool, keep: Bool = false, gate: FileDescriptor? = nil) throws -> Int32 {
        if let gate { try Self.waitForGate(gate, "b") }
        var createOptions = options
        createOptions.pidFile = nil
        // The gate's go often comes while the container is made: then the init is told with GO
        // to go on by itself, and START's round trip is saved.
        var gateSaidGo = false
        let starter: Starter = gate.map { gate in .caller(goneAhead: { gateSaidGo = try Self.gateSaidGo(gate); return gateSaidGo }) } ?? .itself
        let created = try createContainer(id: id, options: createOptions, terminalToCaller: !detach, startedBy: starter)
        let master = created.master
        defer { master?.close() }
        // Still under create's lock: nobody can act on the container between create and start,
        // and the record in hand is the one on disk.
        let process: ProcessHandle
        do {
            defer { created.lock.unlock() }
            // The init is our child (directly, or through CLONE_PARENT): we hold it by pidfd and reap it.
            // Until start has the start line, closing it is what ends the init.
            do {
                if let gate, !gateSaidGo { try Self.waitForGate(gate, "g") }
                process = try ProcessHandle.open(pid: created.record.pid)
            } catch {
                created.startLine?.close()
                throw error
            }
            do {
                try start(created.record, release: created.startLine.map { .startLine($0) } ?? .itself)
                if let pidFile = options.pidFile {
                    try FileSystem.writeAtomically(Array(String(created.record.pid).utf8), to: absolutePath(pidFile), durable: false)
                }
            } catch {
                process.close()
                throw error
            }
        } catch {
            try? delete(id: id, force: true)
            throw error
        }
        defer { process.close() }
        if detach { return 0 }
        let status = try Foreground.wait(for: process, master: master)
        log.debug("run \(id): \(status)")
        if !keep { try deleteAfterRun(created.record) }
        return status.shellCode
    }
}

extension Runtime {
    /// True when "g" is on the gate already (and takes it), false when nothing is there yet;
    /// anything else, or the gate's end, withdraws the launch.
    static func gateSaidGo(_ gate: FileDescriptor) throws -> Bool {
        var entry = pollfd(fd: gate.rawValue, events: Int16(POLLIN), revents: 0)
        guard retryingInterrupts({ poll(&entry, 1, 0) }).0 > 0 else { return false }
        try waitForGate(gate, "g")
        return true
    }

    /// Waits for `byte` on the gate; anything else, or its end, withdraws the launch.
    static func waitForGate(_ gate: FileDescriptor, _ byte: Character) throws {
        var received: UInt8 = 0
        let (count, error) = retryingInterrupts { read(gate.rawValue, &received, 1) }
        if let error { throw SystemError("read --gate-fd", error) }
        guard count == 1, received == byte.asciiValue else { throw LaunchWithdrawn() }
    }
}
