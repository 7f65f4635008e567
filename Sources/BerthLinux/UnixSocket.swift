import CBerth
#if canImport(Glibc)
import Glibc
#endif

/// AF_UNIX stream sockets by path: the console socket and berthd's API socket.
public enum UnixSocket {
    /// A socket connected to the listener at `path`.
    public static func connect(_ path: String) throws(SystemError) -> FileDescriptor {
        let fd = try sys("socket") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw SystemError("connect \(path): path too long", Errno(ENAMETOOLONG))
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let (_, error) = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                retryingInterrupts { Glibc.connect(fd, raw, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        }
        if let error {
            close(fd)
            throw SystemError("connect \(path)", error)
        }
        return FileDescriptor(rawValue: fd)
    }

    /// The uid, gid and pid of the process at the other end (SO_PEERCRED).
    public static func peerCredentials(_ fd: FileDescriptor) throws(SystemError) -> (pid: pid_t, uid: uid_t, gid: gid_t) {
        var pid: pid_t = 0, uid: uid_t = 0, gid: gid_t = 0
        try sys("getsockopt SO_PEERCRED") { berth_peer_credentials(fd.rawValue, &pid, &uid, &gid) }
        return (pid, uid, gid)
    }
}
