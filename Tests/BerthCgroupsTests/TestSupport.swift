import XCTest
import BerthLinux
@testable import BerthCgroups
#if canImport(Glibc)
import Glibc
#endif

/// Real-cgroup tests need root. On CI (CI=true) missing root is a failure, locally a skip.
func requireRoot(file: StaticString = #filePath, line: UInt = #line) throws {
    if geteuid() == 0 { return }
    if let ci = getenv("CI"), String(cString: ci) == "true" {
        XCTFail("cgroup tests need root (CI=true)", file: file, line: line)
        throw CgroupError("not root")
    }
    throw XCTSkip("cgroup tests need root; skipped (run as root, or set CI=true to make this a failure)")
}

func testPath() -> String {
    "berth-test/t\(UInt32.random(in: 0...UInt32.max))"
}

/// Creates a cgroup under berth-test/, runs `body`, and always destroys it again.
func withTestCgroup(
    _ resources: Resources = Resources(), host: CgroupHost? = nil, path: String? = nil,
    _ body: (inout Cgroup) throws -> Void
) throws {
    try requireRoot()
    let host = try host ?? CgroupHost.detect()
    var cgroup = try Cgroup.resolve(host: host, cgroupsPath: path ?? testPath(), containerID: "")
    try cgroup.create(resources)
    defer {
        do { try cgroup.destroy() } catch { XCTFail("cleanup of \(cgroup.cgroupsPath): \(error)") }
    }
    try body(&cgroup)
}

/// A shell that waits on its stdin before running `script`, so it can be put into a cgroup
/// before it does anything.
struct GatedShell {
    let handle: ProcessHandle
    var gate: Int32
    let output: Int32

    init(_ script: String) throws {
        var input: [Int32] = [-1, -1], out: [Int32] = [-1, -1]
        XCTAssertEqual(pipe(&input), 0)
        XCTAssertEqual(pipe(&out), 0)
        _ = fcntl(input[1], F_SETFD, FD_CLOEXEC)
        _ = fcntl(out[0], F_SETFD, FD_CLOEXEC)
        let child = ChildProcess(path: "/bin/sh", arguments: ["sh", "-c", "read _gate; " + script])
        handle = try child.spawn(stdin: input[0], stdout: out[1], stderr: out[1])
        Glibc.close(input[0])
        Glibc.close(out[1])
        gate = input[1]
        output = out[0]
    }

    var pid: pid_t { handle.pid }

    mutating func release() {
        var newline: UInt8 = 10
        _ = write(gate, &newline, 1)
        Glibc.close(gate)
        gate = -1
    }

    /// Waits for the shell (not its background children) and reads what it wrote so far.
    func finish(timeout: Duration = .seconds(30)) throws -> (ExitStatus?, String) {
        let status = try handle.wait(timeout: timeout)
        return (status, drain())
    }

    func drain() -> String {
        _ = fcntl(output, F_SETFL, O_NONBLOCK)
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func close() {
        if gate >= 0 { Glibc.close(gate) }
        Glibc.close(output)
        try? handle.signal(SIGKILL)
        _ = try? handle.wait(timeout: .seconds(5))
        handle.close()
    }
}

/// Polls until `condition` holds, up to a generous bound.
func eventually(_ timeout: Duration = .seconds(20), _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        usleep(20_000)
    }
    return try condition()
}

func readFile(_ path: String) -> String {
    ((try? FileSystem.readString(path)) ?? "<unreadable>").trimmingCharacters(in: " \n")
}

extension Cgroup {
    func directory(version: Int, controller: String? = nil) -> String? {
        directories.first { $0.version == version && (controller == nil || $0.controllers.contains(controller!)) }?.path
    }
}

/// The error a throwing call produced, as its one-line description.
func errorText(_ body: () throws -> Void) -> String? {
    do { try body(); return nil } catch { return "\(error)" }
}
