import BerthLinux

/// Runs blocking work (a child process, a file read over a slow disk) on its own thread and
/// resumes the caller when it is done, so the cooperative pool keeps serving requests.
public func runBlocking<T: Sendable>(_ name: String, _ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        do {
            try startThread(named: name) { continuation.resume(returning: body()) }
        } catch {
            // No thread to be had: do the work here rather than not at all.
            continuation.resume(returning: body())
        }
    }
}
