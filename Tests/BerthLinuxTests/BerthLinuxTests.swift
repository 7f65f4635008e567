import BerthLinux
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("ChildProcess: the one way to run a program")
struct ChildProcessTests {
    @Test("captures stdout and stderr and feeds stdin")
    func captures() throws {
        var child = ChildProcess(path: "/bin/sh", arguments: ["sh", "-c", "cat; echo err >&2; exit 3"])
        child.input = Array("piped-in\n".utf8)
        let output = try child.run()
        #expect(output.status == .exited(3))
        #expect(output.standardOutputText == "piped-in\n")
        #expect(output.standardErrorText == "err\n")
    }

    @Test("large output on both pipes does not deadlock")
    func largeOutput() throws {
        let child = ChildProcess(path: "/bin/sh", arguments: ["sh", "-c", "head -c 1000000 /dev/zero; head -c 500000 /dev/zero >&2"])
        let output = try child.run()
        #expect(output.standardOutput.count == 1_000_000)
        #expect(output.standardError.count == 500_000)
    }

    @Test("a process past its timeout is killed and reported")
    func timeout() throws {
        var child = ChildProcess(path: "/bin/sleep", arguments: ["sleep", "30"])
        child.timeout = .milliseconds(200)
        #expect(throws: ChildProcess.Failure.self) { try child.run() }
    }

    @Test("a missing program fails at spawn with its errno")
    func missingProgram() throws {
        let child = ChildProcess(path: "/nonexistent/program")
        let error = try #require(throws: SystemError.self) { try child.run() }
        #expect(error.errno == .noEntry)
        #expect(error.description == "run /nonexistent/program: No such file or directory")
    }

    @Test("signals report as 128 + signal")
    func signaled() throws {
        let output = try ChildProcess(path: "/bin/sh", arguments: ["sh", "-c", "kill -TERM $$"]).run()
        #expect(output.status == .signaled(SIGTERM))
        #expect(output.status.shellCode == 143)
    }

    @Test("a spawned process can be signalled and waited for by pidfd")
    func pidfd() throws {
        let handle = try ChildProcess(path: "/bin/sleep", arguments: ["sleep", "30"]).spawn()
        defer { handle.close() }
        #expect(try handle.wait(timeout: .milliseconds(50)) == nil)
        try handle.signal(SIGKILL)
        #expect(try handle.wait() == .signaled(SIGKILL))
    }
}

@Suite("Files")
struct FileTests {
    let directory: String

    init() throws {
        directory = "/tmp/berth-linux-tests-\(getpid())-\(UUID().uuidString.prefix(6))"
        try FileSystem.createDirectory(directory + "/a/b")
    }

    @Test("an atomic write replaces the file whole and leaves no temporary file")
    func atomicWrite() throws {
        defer { try? FileSystem.removeTree(directory) }
        let path = directory + "/state.json"
        try FileSystem.writeAtomically(Array("first".utf8), to: path)
        try FileSystem.writeAtomically(Array("second".utf8), to: path, mode: 0o600)
        #expect(try FileSystem.readString(path) == "second")
        #expect(try FileSystem.listDirectory(directory) == ["a", "state.json"])
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
    }

    @Test("an atomic write into a missing directory fails and names the path")
    func atomicWriteFails() throws {
        defer { try? FileSystem.removeTree(directory) }
        let error = try #require(throws: SystemError.self) {
            try FileSystem.writeAtomically([1], to: directory + "/missing/x")
        }
        #expect(error.errno == .noEntry)
        #expect(error.step.hasPrefix("open \(directory)/missing/x.tmp-"))
    }

    @Test("removeTree does not follow symlinks out of the tree")
    func removeTree() throws {
        let outside = directory + "-outside"
        try FileSystem.createDirectory(outside)
        defer { try? FileSystem.removeTree(outside) }
        try FileSystem.writeAtomically([1], to: outside + "/keep")
        #expect(symlink(outside, directory + "/a/link") == 0)
        try FileSystem.removeTree(directory)
        #expect(!FileSystem.exists(directory))
        #expect(FileSystem.exists(outside + "/keep"))
    }

    @Test("a file lock is exclusive between processes")
    func lock() throws {
        defer { try? FileSystem.removeTree(directory) }
        let path = directory + "/lock"
        let held = try FileLock.acquire(path)
        let other = try ChildProcess(path: "/usr/bin/flock", arguments: ["flock", "-n", path, "true"]).run()
        #expect(other.status == .exited(1))
        held.unlock()
        #expect(try ChildProcess(path: "/usr/bin/flock", arguments: ["flock", "-n", path, "true"]).run().status == .exited(0))
    }
}

@Suite("Small parsers")
struct ParserTests {
    @Test("signal names as users write them")
    func signals() {
        #expect(Signals.parse("TERM") == SIGTERM)
        #expect(Signals.parse("SIGKILL") == SIGKILL)
        #expect(Signals.parse("sigusr1") == SIGUSR1)
        #expect(Signals.parse("9") == 9)
        #expect(Signals.parse("RTMIN+2") == 36)
        #expect(Signals.parse("RTMAX") == 64)
        #expect(Signals.parse("0") == nil)
        #expect(Signals.parse("65") == nil)
        #expect(Signals.parse("FOO") == nil)
    }

    @Test("a process is identified by pid and start time")
    func processIdentity() throws {
        let pid = getpid()
        let start = try #require(ProcFS.startTime(of: pid))
        #expect(ProcFS.isRunning(pid: pid, startTime: start))
        #expect(!ProcFS.isRunning(pid: pid, startTime: start + 1))
        #expect(!ProcFS.bootID().isEmpty)
    }
}
