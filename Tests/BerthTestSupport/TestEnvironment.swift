import BerthLinux
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Facts about the machine the tests run on and where the things under test are: one place for
/// every test target (each had its own copy of these).
public enum TestEnvironment {
    public static let isRoot = getuid() == 0
    public static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// Tests that need root run when we are root, and also in CI, where they then fail loudly
    /// instead of being skipped.
    public static let canRunPrivileged = isRoot || isCI

    public static let packageRoot: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }()

    /// The berth under test: BERTH_BINARY (`make test` sets it), else the berth built next to
    /// this test bundle, else .build/debug/berth.
    public static let berthBinary: String = {
        if let path = ProcessInfo.processInfo.environment["BERTH_BINARY"] { return path }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
        while directory.path != "/" && !directory.lastPathComponent.hasSuffix(".xctest") && directory.lastPathComponent != "debug" {
            directory.deleteLastPathComponent()
        }
        if directory.lastPathComponent.hasSuffix(".xctest") { directory.deleteLastPathComponent() }
        let sibling = directory.path + "/berth"
        return FileManager.default.isExecutableFile(atPath: sibling) ? sibling : packageRoot + "/.build/debug/berth"
    }()

    /// berth, berthd and berth-supervisor are built side by side.
    public static var binDirectory: String { FileSystem.parentDirectory(of: berthBinary) }

    /// Where the busybox-static rootfs is (BERTH_ROOTFS, else `make fixtures`'s place).
    public static let rootfsPath =
        ProcessInfo.processInfo.environment["BERTH_ROOTFS"] ?? packageRoot + "/Fixtures/.cache/busybox-rootfs"

    /// The busybox-static rootfs, built by Fixtures/busybox-rootfs.sh on first use.
    public static let rootfs: String = {
        if !FileSystem.exists(rootfsPath + "/bin/busybox") {
            let output = try? ChildProcess(path: "/bin/sh", arguments: ["sh", packageRoot + "/Fixtures/busybox-rootfs.sh", rootfsPath]).run()
            precondition(output?.status == .exited(0), "cannot build the test rootfs: \(output?.standardErrorText ?? "")")
        }
        return rootfsPath
    }()

    /// A fresh directory under /tmp/berth-tests for one test.
    public static func temporaryDirectory(_ label: String) throws -> String {
        try FileSystem.createDirectory("/tmp/berth-tests")
        let path = "/tmp/berth-tests/\(label)-\(UUID().uuidString.prefix(8))"
        try FileSystem.createDirectory(path)
        return path
    }

    /// Runs a program and returns its output; the one way the tests run anything.
    @discardableResult
    public static func run(_ arguments: [String], input: String? = nil, timeout: Duration = .seconds(60)) throws -> ChildProcess.Output {
        try run(arguments, bytes: input.map { Array($0.utf8) }, timeout: timeout)
    }

    @discardableResult
    public static func run(_ arguments: [String], bytes input: [UInt8]?, timeout: Duration = .seconds(60)) throws -> ChildProcess.Output {
        var child = ChildProcess(path: arguments[0], arguments: arguments)
        child.input = input
        child.timeout = timeout
        return try child.run()
    }

    /// Every cgroup directory (in any hierarchy) whose path contains `fragment`.
    public static func cgroupDirectories(containing fragment: String) -> [String] {
        let output = try? run(["/usr/bin/find", "/sys/fs/cgroup", "-type", "d", "-path", "*\(fragment)*"])
        return (output?.standardOutputText ?? "").split(separator: "\n").map(String.init)
    }
}
