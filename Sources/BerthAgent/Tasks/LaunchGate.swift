import BerthLinux
import Synchronization

/// Lets a first run's container be made before its task is durably admitted, and its
/// supervisor and `berth run` start before its bundle is made. `berth run --gate-fd` reads this
/// pipe: "b" once the bundle is ready (then it reads the bundle and makes the container), "g"
/// once the admission's fsync has returned too (then the container's process starts). Each is
/// written by whichever step finishes it, on its own thread: no hop through the actor. When
/// either fails, or berthd dies first, berth reads EOF, removes what it made and leaves: no
/// container's process runs for a task that was not durably admitted.
final class LaunchGate: Sendable {
    /// The end the supervisor inherits (--gate-fd) and hands to `berth run`.
    let reader: FileDescriptor
    private let state: Mutex<State>

    private struct State {
        var writer: FileDescriptor?
        var bundleReady = false
        var durable = false
    }

    init() throws(SystemError) {
        let (read, write) = try FileDescriptor.pipe()
        reader = read
        state = Mutex(State(writer: write))
    }

    /// The bundle is made: "b", and "g" too if the admission is already durable.
    func bundleReady() {
        write { state in
            state.bundleReady = true
            return state.durable ? "bg" : "b"
        }
    }

    /// The admission's checkpoint is durable: "g", once "b" has gone before it.
    func durable() {
        write { state in
            state.durable = true
            return state.bundleReady ? "g" : ""
        }
    }

    /// No go: berth reads EOF. Later calls do nothing.
    func withdraw() {
        state.withLock { $0.writer.take() }?.close()
    }

    /// Writes what `step` says under the lock, so "b" always comes before "g"; closes the pipe
    /// after "g".
    private func write(_ step: (inout State) -> String) {
        state.withLock { state in
            guard let writer = state.writer else { return }
            let bytes = step(&state)
            if bytes.isEmpty { return }
            try? writer.writeAll(Array(bytes.utf8), step: "launch gate")
            if bytes.hasSuffix("g") {
                writer.close()
                state.writer = nil
            }
        }
    }

    deinit {
        reader.close()
        withdraw()
    }
}
