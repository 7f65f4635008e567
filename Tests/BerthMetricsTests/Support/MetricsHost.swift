import BerthCgroups
import BerthLinux
import BerthMetrics
import BerthTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What the machine running the tests offers.
enum MetricsHost {
    static let cgroups: CgroupHost? = try? CgroupHost.detect()
    static var hasPromtool: Bool { FileSystem.exists("/usr/bin/promtool") || TestEnvironment.isCI }
    /// Container tests need root, the berth binary and the busybox rootfs (not built here).
    static var canRunContainers: Bool {
        TestEnvironment.canRunPrivileged && FileSystem.exists(TestEnvironment.berthBinary)
            && FileSystem.exists(TestEnvironment.rootfsPath + "/bin/busybox")
    }
}

/// Every /metrics page the tests see goes through `promtool check metrics` (format and lint).
func expectPromtoolAccepts(_ page: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws {
    let output = try TestEnvironment.run(["/usr/bin/promtool", "check", "metrics"], bytes: page)
    #expect(output.status == .exited(0),
            "promtool: \(output.standardOutputText)\(output.standardErrorText)", sourceLocation: sourceLocation)
}

/// A parsed page: sample lines by name, for looking values up.
struct Page {
    let text: String
    init(_ bytes: [UInt8]) { text = String(decoding: bytes, as: UTF8.self) }

    /// Values of samples named `name` whose label text contains every fragment (`task_id="a"`).
    func values(_ name: String, _ fragments: String...) -> [Double] {
        text.split(separator: "\n").compactMap { line -> Double? in
            guard !line.hasPrefix("#"), line.hasPrefix(name + "{") || line.hasPrefix(name + " ") else { return nil }
            guard fragments.allSatisfy({ line.contains($0) }) else { return nil }
            return Double(line.split(separator: " ").last!)
        }
    }

    func value(_ name: String, _ fragments: String...) -> Double? {
        text.split(separator: "\n").first { line in
            !line.hasPrefix("#") && (line.hasPrefix(name + "{") || line.hasPrefix(name + " ")) && fragments.allSatisfy { line.contains($0) }
        }.flatMap { Double($0.split(separator: " ").last!) }
    }

    func count(of prefix: String) -> Int { text.split(separator: "\n").filter { $0.hasPrefix(prefix) }.count }
}

/// A real cgroup under berth-metrics-test/, destroyed again whatever happens.
func withTestCgroup<T>(_ resources: Resources = Resources(), _ body: (Cgroup) async throws -> T) async throws -> T {
    let host = try CgroupHost.detect()
    var cgroup = try Cgroup.resolve(host: host, cgroupsPath: "berth-metrics-test/t\(UInt32.random(in: 0...UInt32.max))", containerID: "")
    try cgroup.create(resources)
    defer {
        do { try cgroup.destroy() } catch { Issue.record("cleanup of \(cgroup.cgroupsPath): \(error)") }
        // The parent goes too once empty (destroy leaves parents other tests may share).
        for dir in cgroup.directories.map({ FileSystem.parentDirectory(of: $0.path) }) where dir.hasSuffix("/berth-metrics-test") {
            rmdir(dir)
        }
    }
    return try await body(cgroup)
}

/// A shell started outside, then moved into a cgroup before it does anything: it waits for a
/// line on stdin.
final class GatedShell {
    let handle: ProcessHandle
    private var gate: Int32

    init(_ script: String, arguments: [String]? = nil) throws {
        var input: [Int32] = [-1, -1]
        guard pipe(&input) == 0 else { throw SystemError("pipe") }
        _ = fcntl(input[1], F_SETFD, FD_CLOEXEC)
        let devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)
        let child = ChildProcess(path: arguments?.first ?? "/bin/sh", arguments: arguments ?? ["sh", "-c", "read _gate; " + script])
        handle = try child.spawn(stdin: input[0], stdout: devnull, stderr: devnull)
        close(input[0])
        close(devnull)
        gate = input[1]
    }

    var pid: pid_t { handle.pid }

    func release() {
        var newline: UInt8 = 10
        _ = write(gate, &newline, 1)
        close(gate)
        gate = -1
    }

    func wait(timeout: Duration = .seconds(60)) throws -> BerthLinux.ExitStatus? { try handle.wait(timeout: timeout) }

    deinit {
        if gate >= 0 { close(gate) }
        try? handle.signal(SIGKILL)
        _ = try? handle.wait(timeout: .seconds(5))
        handle.close()
    }
}

/// Polls until `condition` holds (generous bound for an emulated VM; never a timing assertion).
func eventually(_ timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}

/// A UDP socket on 127.0.0.1 that tests read datagrams from.
final class UDPListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw SystemError("bind udp") }
        port = Int(UInt16(bigEndian: address.sin_port))
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The next datagram, or nil after the receive timeout.
    func receive() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return count >= 0 ? Array(buffer[0..<count]) : nil
    }

    /// Datagrams already queued, without waiting.
    func drain() -> [[UInt8]] {
        var result: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count < 0 { return result }
            result.append(Array(buffer[0..<count]))
        }
    }

    /// Takes datagrams from 127.0.0.1:port only; the kernel refuses anyone else's on this port.
    func connect(toPort port: Int) {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// Sends a datagram to 127.0.0.1:port from this socket.
    func send(_ text: String, to port: Int) {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        let bytes = Array(text.utf8)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, pointer, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
    }

    deinit { close(fd) }
}

extension Array where Element == UInt8 {
    var text: String { String(decoding: self, as: UTF8.self) }
}
