#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` on a new detached OS thread. For loops that block in poll(2) for their whole
/// life (task monitors), which must not sit on Swift concurrency's few cooperative threads.
public func startThread(named name: String, _ body: @escaping @Sendable () -> Void) throws(SystemError) {
    final class Box { let body: @Sendable () -> Void; init(_ body: @escaping @Sendable () -> Void) { self.body = body } }
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    let result = pthread_create(&thread, &attributes, { raw in
        let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
        box.body()
        return nil
    }, box)
    if result != 0 {
        Unmanaged<Box>.fromOpaque(box).release()
        throw SystemError("start thread \(name)", Errno(result))
    }
}
