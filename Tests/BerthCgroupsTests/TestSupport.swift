import Testing
import Foundation
import BerthLinux
@testable import BerthCgroups
#if canImport(Glibc)
import Glibc
#endif

/// What the host running the tests offers, read once from the real /proc and /sys. Test traits
/// use these to decide whether a test applies here (their reasons are literals at each test).
enum CgroupTestHost {
    static let host: CgroupHost? = try? CgroupHost.detect()
    static var isHybrid: Bool { host?.mode == .hybrid }
    static var isUnified: Bool { host?.mode == .unified }
    /// Real-cgroup tests need root. On CI (CI=true) they run anyway and fail without it.
    static var rootOrCI: Bool { getuid() == 0 || ProcessInfo.processInfo.environment["CI"] == "true" }
    /// A hybrid or legacy host: the v1 limit files exist.
    static var hasV1Files: Bool { host.map { $0.mode != .unified } ?? false }
    static var hasV1Devices: Bool { host?.hierarchy(for: "devices")?.version == 1 }
    static var hasV1CPU: Bool { host?.hierarchy(for: "cpu")?.version == 1 }
    static var hybridWithV2Hugetlb: Bool { isHybrid && host?.hierarchy(for: "hugetlb")?.version == 2 }
    static var unifiedWithCoreControllers: Bool {
        guard isUnified, let v2 = host?.unified else { return false }
        return ["cpu", "memory", "pids", "cpuset"].allSatisfy(v2.controllers.contains)
    }
}

/// The parent of every suite in this target: it runs them one at a time (CPU-time and
/// freezer checks must not compete with each other on a small machine) and, when they are all
/// done, removes whatever test cgroups under berth-test/ a failed test left behind.
@Suite(.serialized, .removesTestCgroups)
struct CgroupSuites {}

struct RemovesTestCgroups: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        defer { Self.removeLeftovers() }
        try await function()
    }

    static func removeLeftovers() {
        guard geteuid() == 0, let host = try? CgroupHost.detect(),
              let paths = try? Cgroup.children(host: host, of: "berth-test") else { return }
        for path in paths {
            guard var leftover = try? Cgroup.leftover(host: host, cgroupsPath: path) else { continue }
            try? leftover.destroy()
        }
    }
}

extension Trait where Self == RemovesTestCgroups {
    static var removesTestCgroups: Self { RemovesTestCgroups() }
}

func testPath() -> String {
    "berth-test/t\(UInt32.random(in: 0...UInt32.max))"
}

/// Creates a cgroup under berth-test/, runs `body`, and always destroys it again.
func withTestCgroup(
    _ resources: Resources = Resources(), host: CgroupHost? = nil, path: String? = nil,
    _ body: (inout Cgroup) throws -> Void
) throws {
    let host = try host ?? CgroupHost.detect()
    var cgroup = try Cgroup.resolve(host: host, cgroupsPath: path ?? testPath(), containerID: "")
    try cgroup.create(resources)
    defer {
        do { try cgroup.destroy() } catch { Issue.record("cleanup of \(cgroup.cgroupsPath): \(error)") }
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
        #expect(pipe(&input) == 0)
        #expect(pipe(&out) == 0)
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
    func finish(timeout: Duration = .seconds(30)) throws -> (BerthLinux.ExitStatus?, String) {
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

/// Polls until `condition` holds, up to a generous bound (these tests also run in an emulated
/// VM: it returns as soon as the condition holds).
func eventually(_ timeout: Duration = .seconds(60), _ condition: () throws -> Bool) rethrows -> Bool {
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
