@testable import BerthAgent
import BerthLinux
import BerthTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The pipe a first run's supervisor waits on: the go comes only once both the admission's fsync
/// and the bundle are done, and never after a withdrawal.
@Suite struct LaunchGateTests {
    /// What the supervisor would read: the bytes up to EOF (the test holds no write end).
    private func read(_ gate: LaunchGate) -> [UInt8] {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while Glibc.read(gate.reader.rawValue, &byte, 1) == 1 { bytes.append(byte) }
        return bytes
    }

    private func readable(_ gate: LaunchGate) -> Bool {
        var fd = pollfd(fd: gate.reader.rawValue, events: Int16(POLLIN), revents: 0)
        return poll(&fd, 1, 0) == 1
    }

    @Test("the go is written once both halves are ready, and the pipe then ends")
    func goAfterBoth() throws {
        let gate = try LaunchGate()
        gate.ready()
        #expect(!readable(gate), "one half is not enough")
        gate.ready()
        #expect(read(gate) == [UInt8(ascii: "g")])
    }

    @Test("a withdrawal ends the pipe without a go, whichever half comes later")
    func withdrawn() throws {
        let early = try LaunchGate()
        early.withdraw()
        early.ready()
        early.ready()
        #expect(read(early) == [])
        let late = try LaunchGate()
        late.ready()
        late.withdraw()
        late.ready()
        #expect(read(late) == [])
    }

    @Test("a child gets the lock as fd 3 and the gate's read end as fd 4, and no other fd of ours")
    func inheritedAsBerthdPassesThem() throws {
        let gate = try LaunchGate()
        defer { gate.withdraw() }
        let directory = try TestEnvironment.temporaryDirectory("launch-gate")
        defer { try? FileSystem.removeTree(directory) }
        let lock = try #require(try FileLock.tryAcquire(directory, directory: true))
        defer { lock.unlock() }
        #expect(fcntl(gate.reader.rawValue, F_GETFD) & FD_CLOEXEC != 0)
        var child = ChildProcess(path: "/bin/sh", arguments: ["sh", "-c", "readlink /proc/$$/fd/3 /proc/$$/fd/4; ls /proc/$$/fd"])
        child.inheritedDescriptors = [lock.descriptor.rawValue, gate.reader.rawValue]
        let lines = String(decoding: try child.run().standardOutput, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines.count == 7, "\(lines)")
        #expect(lines.first == directory)
        #expect(lines.dropFirst().first?.hasPrefix("pipe:[") == true)
        #expect(Array(lines.dropFirst(2)) == ["0", "1", "2", "3", "4"])
    }
}
