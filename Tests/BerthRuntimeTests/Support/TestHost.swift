import BerthLinux
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Facts about the machine the tests run on, and where the things under test are.
enum TestHost {
    static let isRoot = getuid() == 0
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// Tests that need root run when we are root, and also in CI, where they then fail loudly
    /// instead of being skipped.
    static let canRunPrivileged = isRoot || isCI

    static let packageRoot: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path
    }()

    /// The berth executable under test (`make test` sets BERTH_BINARY).
    static let berthBinary: String = {
        ProcessInfo.processInfo.environment["BERTH_BINARY"] ?? packageRoot + "/.build/debug/berth"
    }()

    /// A busybox root filesystem, built on first use by Fixtures/busybox-rootfs.sh.
    static let rootfs: String = {
        let path = ProcessInfo.processInfo.environment["BERTH_ROOTFS"] ?? packageRoot + "/Fixtures/.cache/busybox-rootfs"
        if !FileSystem.exists(path + "/bin/busybox") {
            let output = try? ChildProcess(path: "/bin/sh", arguments: ["sh", packageRoot + "/Fixtures/busybox-rootfs.sh", path]).run()
            precondition(output?.status == .exited(0), "cannot build the test rootfs: \(output?.standardErrorText ?? "")")
        }
        return path
    }()

    /// A fresh directory under /tmp/berth-tests for one test.
    static func temporaryDirectory(_ label: String) throws -> String {
        try FileSystem.createDirectory("/tmp/berth-tests")
        let path = "/tmp/berth-tests/\(label)-\(UUID().uuidString.prefix(8))"
        try FileSystem.createDirectory(path)
        return path
    }

    /// Runs a program and returns its output; the one way the tests run anything.
    @discardableResult
    static func run(_ arguments: [String], input: String? = nil, timeout: Duration = .seconds(60)) throws -> ChildProcess.Output {
        var child = ChildProcess(path: arguments[0], arguments: arguments)
        child.input = input.map { Array($0.utf8) }
        child.timeout = timeout
        return try child.run()
    }

    /// Every cgroup directory (in any hierarchy) whose path contains `fragment`.
    static func cgroupDirectories(containing fragment: String) -> [String] {
        let output = try? run(["/usr/bin/find", "/sys/fs/cgroup", "-type", "d", "-path", "*\(fragment)*"])
        return (output?.standardOutputText ?? "").split(separator: "\n").map(String.init)
    }
}
