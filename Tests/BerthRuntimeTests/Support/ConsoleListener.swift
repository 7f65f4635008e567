import BerthLinux
import CBerth
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The other end of `--console-socket`: a listening AF_UNIX socket that receives a pty master.
struct ConsoleListener {
    let fd: Int32

    init(path: String) throws {
        fd = try sys("socket") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 1) == 0 else { throw SystemError("bind \(path)") }
    }

    func acceptMaster() throws -> FileDescriptor {
        let connection = try sys("accept") { accept(fd, nil, nil) }
        defer { Glibc.close(connection) }
        return FileDescriptor(rawValue: try sys("receive fd") { berth_recv_fd(connection) })
    }

    func close() { Glibc.close(fd) }
}

/// Reads from a pty master until `needle` shows up (or 60 s pass: a bound against hangs).
func readUntil(_ fd: FileDescriptor, contains needle: String) throws -> String {
    var text = ""
    var buffer = [UInt8](repeating: 0, count: 4096)
    let deadline = ContinuousClock.now + .seconds(60)
    while !text.contains(needle) && ContinuousClock.now < deadline {
        var entry = pollfd(fd: fd.rawValue, events: Int16(POLLIN), revents: 0)
        if poll(&entry, 1, 200) <= 0 { continue }
        let count = read(fd.rawValue, &buffer, buffer.count)
        if count <= 0 { break }
        text += String(decoding: buffer[0..<count], as: UTF8.self)
    }
    return text
}
