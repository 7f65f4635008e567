#if canImport(Glibc)
import Glibc
#endif

/// A POSIX counting semaphore at a fixed address.
final class Semaphore: @unchecked Sendable {
    private let raw = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)

    init(_ value: UInt32) { sem_init(raw, 0, value) }

    deinit {
        sem_destroy(raw)
        raw.deallocate()
    }

    func post() { sem_post(raw) }

    func wait() {
        while sem_wait(raw) != 0 && errno == EINTR {}
    }
}
