import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// The AF_UNIX socket a pty master travels over (runc's --console-socket protocol).
enum ConsoleSocket {
    /// Connects to a listening socket given by path.
    static func connect(_ path: String) throws -> Int32 {
        switch Result(catching: { () throws(SystemError) in try UnixSocket.connect(path) }) {
        case .success(let fd): return fd.rawValue
        case .failure(let error): throw RuntimeError("--console-socket: \(path): \(error.errno)")
        }
    }

    /// The container's end of the console socket, and ours when we keep the pty ourselves:
    /// the given socket path when there is one, else a connected pair. (ours or -1, the container's)
    static func open(_ path: String?) throws -> (Int32, Int32) {
        if let path { return (-1, try connect(path)) }
        return try pair()
    }

    /// A connected pair: (ours, the container's).
    static func pair() throws -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        try sys("socketpair") { socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) }
        return (fds[0], fds[1])
    }
}
