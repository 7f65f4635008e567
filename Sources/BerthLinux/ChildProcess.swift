import CBerth
#if canImport(Glibc)
import Glibc
#endif

/// The one way Berth runs a helper program (hooks, tools): berth_spawn in C, then a poll loop
/// that feeds stdin, collects output and enforces a deadline.
public struct ChildProcess: Sendable {
    public struct Output: Sendable {
        public var status: ExitStatus
        public var standardOutput: [UInt8]
        public var standardError: [UInt8]
        public var standardOutputText: String { String(decoding: standardOutput, as: UTF8.self) }
        public var standardErrorText: String { String(decoding: standardError, as: UTF8.self) }
    }

    public enum Failure: Error, CustomStringConvertible {
        case timedOut(path: String, after: Duration)
        public var description: String {
            switch self {
            case .timedOut(let path, let after): return "\(path) did not finish within \(after)"
            }
        }
    }

    public var path: String
    /// argv, including argv[0].
    public var arguments: [String]
    public var environment: [String]
    public var workingDirectory: String?
    public var input: [UInt8]?
    public var timeout: Duration?
    /// Run inside these namespaces (CLONE_NEW* mask) of another process; the executable is
    /// resolved in ours first.
    public var joinNamespaces: (pid: pid_t, types: Int32)?
    /// fds the child gets as its fds 3, 4, ... (at most two), open across exec: a lock it then
    /// holds for its life, a pipe it waits on.
    public var inheritedDescriptors: [Int32] = []

    public init(path: String, arguments: [String]? = nil, environment: [String] = ChildProcess.inheritedEnvironment()) {
        self.path = path
        self.arguments = arguments ?? [path]
        self.environment = environment
    }

    public static func inheritedEnvironment() -> [String] {
        var result: [String] = []
        var pointer = environ
        while let entry = pointer.pointee {
            result.append(String(cString: entry))
            pointer += 1
        }
        return result
    }

    /// Runs to completion, capturing stdout and stderr. The child is killed at the deadline.
    public func run() throws -> Output {
        var inputPipe: [Int32] = [-1, -1], outputPipe: [Int32] = [-1, -1], errorPipe: [Int32] = [-1, -1]
        try makePipe(&outputPipe)
        defer { Glibc.close(outputPipe[0]) }
        do { try makePipe(&errorPipe) } catch { Glibc.close(outputPipe[1]); throw error }
        defer { Glibc.close(errorPipe[0]) }
        if input != nil {
            do { try makePipe(&inputPipe) } catch {
                Glibc.close(outputPipe[1]); Glibc.close(errorPipe[1]); throw error
            }
        }
        let handle: ProcessHandle
        do {
            handle = try spawn(stdin: inputPipe[0], stdout: outputPipe[1], stderr: errorPipe[1])
        } catch {
            for fd in [inputPipe[0], inputPipe[1], outputPipe[1], errorPipe[1]] where fd >= 0 { Glibc.close(fd) }
            throw error
        }
        defer { handle.close() }
        for fd in [inputPipe[0], outputPipe[1], errorPipe[1]] where fd >= 0 { Glibc.close(fd) }

        var output = Output(status: .exited(0), standardOutput: [], standardError: [])
        let deadline = timeout.map { Deadline.after($0) }
        var pending = input.map { ArraySlice($0) } ?? []
        var inputFD = inputPipe[1]
        if inputFD >= 0 && pending.isEmpty { Glibc.close(inputFD); inputFD = -1 }
        var open: Set<Int32> = [outputPipe[0], errorPipe[0]]
        var buffer = [UInt8](repeating: 0, count: 65536)
        // SIGPIPE must not kill us if the child ignores its stdin.
        signal(SIGPIPE, SIG_IGN)
        // The loop ends when the child exits, not at EOF: a daemon it left behind may hold the
        // pipes open for good. What is buffered by then is drained without blocking.
        var exited = false
        while !exited {
            var fds = [pollfd(fd: handle.pidfd.rawValue, events: Int16(POLLIN), revents: 0)]
            fds += open.sorted().map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if inputFD >= 0 { fds.append(pollfd(fd: inputFD, events: Int16(POLLOUT), revents: 0)) }
            var wait: Int32 = -1
            if let deadline {
                let left = deadline.remaining
                if left <= .zero {
                    try? handle.signal(SIGKILL)
                    _ = try? handle.wait()
                    if inputFD >= 0 { Glibc.close(inputFD) }
                    throw Failure.timedOut(path: path, after: timeout!)
                }
                wait = left.pollMilliseconds
            }
            let ready = poll(&fds, nfds_t(fds.count), wait)
            if ready < 0 {
                if errno == EINTR { continue }
                throw SystemError("poll output of \(path)")
            }
            for entry in fds where entry.revents != 0 {
                if entry.fd == handle.pidfd.rawValue {
                    exited = true
                } else if entry.fd == inputFD {
                    let written = pending.withUnsafeBytes { Glibc.write(inputFD, $0.baseAddress, $0.count) }
                    if written > 0 { pending = pending.dropFirst(written) }
                    if written < 0 && errno != EINTR && errno != EAGAIN { pending = [] }
                    if pending.isEmpty { Glibc.close(inputFD); inputFD = -1 }
                } else if !read(entry.fd, into: &output, buffer: &buffer, stdout: outputPipe[0]) {
                    open.remove(entry.fd)
                }
            }
        }
        if inputFD >= 0 { Glibc.close(inputFD) }
        for fd in open {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            while read(fd, into: &output, buffer: &buffer, stdout: outputPipe[0]) {}
        }
        output.status = try handle.wait()!
        return output
    }

    /// Reads what one pipe has into the output; false at EOF, error, or nothing left to read.
    private func read(_ fd: Int32, into output: inout Output, buffer: inout [UInt8], stdout: Int32) -> Bool {
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if count > 0 {
            if fd == stdout {
                output.standardOutput.append(contentsOf: buffer[0..<count])
            } else {
                output.standardError.append(contentsOf: buffer[0..<count])
            }
            return true
        }
        return count < 0 && errno == EINTR
    }

    /// Starts the process with the given stdio fds (-1 = /dev/null) and returns at once.
    public func spawn(stdin: Int32 = -1, stdout: Int32 = -1, stderr: Int32 = -1, newSession: Bool = false) throws(SystemError) -> ProcessHandle {
        var pidfd: Int32 = -1
        let pid = withCStringArray(arguments) { argv in
            withCStringArray(environment) { envp in
                path.withCString { cPath in
                    withOptionalCString(workingDirectory) { cwd in
                        var request = berth_spawn_request()
                        request.path = cPath
                        request.argv = argv
                        request.envp = envp
                        request.cwd = cwd
                        request.stdin_fd = stdin
                        request.stdout_fd = stdout
                        request.stderr_fd = stderr
                        request.join_namespaces_of = joinNamespaces?.pid ?? 0
                        request.join_namespace_types = joinNamespaces?.types ?? 0
                        request.new_session = newSession ? 1 : 0
                        let inherited = inheritedDescriptors
                        precondition(inherited.count <= Int(BERTH_SPAWN_INHERITED_MAX), "at most two inherited fds")
                        request.inherited_fds = (inherited.count > 0 ? inherited[0] : -1, inherited.count > 1 ? inherited[1] : -1)
                        return berth_spawn(&request, &pidfd)
                    }
                }
            }
        }
        if pid < 0 { throw SystemError("run \(path)") }
        return ProcessHandle(pid: pid, pidfd: FileDescriptor(rawValue: pidfd))
    }
}

/// A pipe whose ends are close-on-exec. (A concurrent spawn cannot leak them: berth_spawn
/// closes every fd above 2 in its child.)
func makePipe(_ fds: inout [Int32]) throws(SystemError) {
    try sys("pipe") { pipe(&fds) }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
}

extension FileDescriptor {
    /// A close-on-exec pipe: (read end, write end).
    public static func pipe() throws(SystemError) -> (read: FileDescriptor, write: FileDescriptor) {
        var fds: [Int32] = [-1, -1]
        try makePipe(&fds)
        return (FileDescriptor(rawValue: fds[0]), FileDescriptor(rawValue: fds[1]))
    }
}

/// Calls `body` with a NULL-terminated C array of the strings; valid only inside `body`.
public func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    var pointers: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) }
    pointers.append(nil)
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

public func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}
