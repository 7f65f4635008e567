import BerthAPI
import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// One health check attempt, blocking for at most its timeout. COMMAND runs inside the task
/// with `berth exec`; TCP and HTTP connect to the task's port on this node.
struct HealthProbe: Sendable {
    var check: HealthCheck
    var berthPath: String
    var runtimeRoot: String
    var containerID: String
    var hostPorts: [Int]
    var address: String = "127.0.0.1"

    /// nil when healthy, else why not.
    func probe() -> String? {
        let timeout = Duration.milliseconds(Int64(check.timeoutSeconds * 1000))
        switch check.protocol {
        case .command:
            var child = ChildProcess(path: berthPath, arguments: [
                berthPath, "--root", runtimeRoot, "exec", containerID, "/bin/sh", "-c", check.command ?? "true",
            ])
            child.timeout = timeout
            switch Result(catching: { try child.run() }) {
            case .success(let output):
                return output.status == .exited(0) ? nil : "command \(output.status)"
            case .failure(let error):
                return "command: \(error)"
            }
        case .tcp, .http:
            guard let port = port else { return "no port to check (portIndex outside the task's ports)" }
            let deadline = ContinuousClock.now + timeout
            let connection: FileDescriptor
            switch Self.connect(address, port: port, deadline: deadline) {
            case .success(let fd): connection = fd
            case .failure(let error): return "connect \(address):\(port): \(error.errno)"
            }
            defer { connection.close() }
            if check.protocol == .tcp { return nil }
            return Self.httpGet(connection, path: check.path ?? "/", host: address, deadline: deadline)
        }
    }

    private var port: Int? {
        if let port = check.port { return port }
        let index = check.portIndex ?? 0
        return index < hostPorts.count ? hostPorts[index] : nil
    }

    static func connect(_ address: String, port: Int, deadline: ContinuousClock.Instant) -> Result<FileDescriptor, SystemError> {
        Result { () throws(SystemError) in
            let fd = FileDescriptor(rawValue: try sys("socket") {
                socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            })
            var sockaddr = sockaddr_in()
            sockaddr.sin_family = sa_family_t(AF_INET)
            sockaddr.sin_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET, address, &sockaddr.sin_addr)
            let result = withUnsafePointer(to: &sockaddr) {
                $0.withMemoryRebound(to: Glibc.sockaddr.self, capacity: 1) {
                    Glibc.connect(fd.rawValue, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            if result != 0 && errno != EINPROGRESS {
                let error = Errno.current
                fd.close()
                throw SystemError("connect", error)
            }
            guard wait(fd, for: Int16(POLLOUT), until: deadline) else {
                fd.close()
                throw SystemError("connect", Errno(ETIMEDOUT))
            }
            var failure: Int32 = 0
            var length = socklen_t(4)
            getsockopt(fd.rawValue, SOL_SOCKET, SO_ERROR, &failure, &length)
            if failure != 0 {
                fd.close()
                throw SystemError("connect", Errno(failure))
            }
            return fd
        }
    }

    /// Healthy on a 2xx or 3xx answer, as Marathon's HTTP checks are.
    static func httpGet(_ fd: FileDescriptor, path: String, host: String, deadline: ContinuousClock.Instant) -> String? {
        let request = "GET \(path) HTTP/1.0\r\nHost: \(host)\r\nUser-Agent: berthd-health\r\n\r\n"
        guard (try? fd.writeAll(Array(request.utf8))) != nil else { return "HTTP: cannot send the request" }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while !answer.contains(UInt8(ascii: "\n")) && answer.count < 4096 {
            guard wait(fd, for: Int16(POLLIN), until: deadline) else { return "HTTP: no answer in time" }
            let count = buffer.withUnsafeMutableBytes { read(fd.rawValue, $0.baseAddress, $0.count) }
            if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if count <= 0 { break }
            answer += buffer[0..<count]
        }
        let statusLine = String(decoding: answer.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { return "HTTP: no status line" }
        return (200..<400).contains(status) ? nil : "HTTP status \(status)"
    }

    private static func wait(_ fd: FileDescriptor, for events: Int16, until deadline: ContinuousClock.Instant) -> Bool {
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            if left <= .zero { return false }
            var entry = pollfd(fd: fd.rawValue, events: events, revents: 0)
            let ready = poll(&entry, 1, left.pollMilliseconds)
            if ready > 0 { return true }
            if ready < 0 && errno == EINTR { continue }
            if ready == 0 { return false }
            return false
        }
    }
}
