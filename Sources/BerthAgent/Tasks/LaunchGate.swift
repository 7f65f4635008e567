import BerthLinux
import Synchronization

/// Lets a first run's supervisor start before its task is durably admitted and its bundle made.
/// The supervisor sets up, then waits on this pipe, and makes the container only once it reads
/// the go. The go is written by whichever of the two finishes last, the admission's fsync or
/// the bundle, on its own thread: no hop through the actor. When either fails, or berthd dies
/// first, the supervisor reads EOF and leaves without having made a container: no container
/// runs for a task that was not durably admitted.
final class LaunchGate: Sendable {
    /// The end the supervisor inherits (--gate-fd).
    let reader: FileDescriptor
    private let state: Mutex<(writer: FileDescriptor?, waitingFor: Int)>

    init() throws(SystemError) {
        let (read, write) = try FileDescriptor.pipe()
        reader = read
        state = Mutex((write, 2))
    }

    /// One of the two (the fsync, the bundle) is done; the second writes the go.
    func ready() {
        let writer: FileDescriptor? = state.withLock { state in
            state.waitingFor -= 1
            return state.waitingFor == 0 ? state.writer.take() : nil
        }
        guard let writer else { return }
        try? writer.writeAll([UInt8(ascii: "g")], step: "launch gate")
        writer.close()
    }

    /// No go: the supervisor reads EOF. Later calls to ready do nothing.
    func withdraw() {
        state.withLock { $0.writer.take() }?.close()
    }

    deinit {
        reader.close()
        withdraw()
    }
}
