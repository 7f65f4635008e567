#if canImport(Glibc)
import Glibc
#endif

/// An exclusive flock(2) on a file, held until `unlock` (or until the process exits, so a
/// killed holder never leaves a stale lock behind).
public struct FileLock: Sendable {
    public let descriptor: FileDescriptor

    /// Blocks until the lock is held. A `directory` is locked itself, and must exist; a file is
    /// created when missing.
    public static func acquire(_ path: String, directory: Bool = false) throws(SystemError) -> FileLock {
        let fd = try open(path, directory: directory)
        do {
            try sys("lock \(path)") { flock(fd.rawValue, LOCK_EX) }
        } catch {
            fd.close()
            throw error
        }
        return FileLock(descriptor: fd)
    }

    /// Returns nil when another process holds the lock.
    public static func tryAcquire(_ path: String, directory: Bool = false) throws(SystemError) -> FileLock? {
        let fd = try open(path, directory: directory)
        let (_, error) = retryingInterrupts { flock(fd.rawValue, LOCK_EX | LOCK_NB) }
        if error == nil { return FileLock(descriptor: fd) }
        fd.close()
        if error == .wouldBlock { return nil }
        throw SystemError("lock \(path)", error!)
    }

    public func unlock() { descriptor.close() }

    private static func open(_ path: String, directory: Bool) throws(SystemError) -> FileDescriptor {
        directory ? try FileDescriptor.open(path, O_RDONLY | O_DIRECTORY)
                  : try FileDescriptor.open(path, O_RDONLY | O_CREAT, mode: 0o600)
    }
}
