@testable import BerthAgent
import BerthLinux
import BerthTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The pipe a first run's `berth run` waits on: "b" once the bundle is ready, then "g" once the
/// admission is durable too, whatever order the two come in; nothing more after a withdrawal.
@Suite struct LaunchGateTests {
    /// What berth would read: the bytes up to EOF (the test holds no write end).
    private func read(_ gate: LaunchGate) -> [UInt8] {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while Glibc.read(gate.reader.rawValue, &byte, 1) == 1 { bytes.append(byte) }
        return bytes
    }

    /// The bytes there now, without waiting for more.
    private func available(_ gate: LaunchGate) -> [UInt8] {
        var bytes: [UInt8] = []
        var fd = pollfd(fd: gate.reader.rawValue, events: Int16(POLLIN), revents: 0)
        var byte: UInt8 = 0
        while poll(&fd, 1, 0) == 1 && fd.revents & Int16(POLLIN) != 0 && Glibc.read(gate.reader.rawValue, &byte, 1) == 1 {
            bytes.append(byte)
        }
        return bytes
    }

    @Test("the bundle first: \"b\" at once, \"g\" when the admission is durable, and the pipe then ends")
    func bundleFirst() throws {
        let gate = try LaunchGate()
        gate.bundleReady()
        #expect(available(gate) == Array("b".utf8))
        gate.durable()
        #expect(read(gate) == Array("g".utf8))
    }

    @Test("durable first: nothing until the bundle is ready, then \"b\" and \"g\" in that order")
    func durableFirst() throws {
        let gate = try LaunchGate()
        gate.durable()
        #expect(available(gate) == [])
        gate.bundleReady()
        #expect(read(gate) == Array("bg".utf8))
    }

    @Test("a withdrawal ends the pipe with no \"g\", whichever step comes later")
    func withdrawn() throws {
        let early = try LaunchGate()
        early.withdraw()
        early.bundleReady()
        early.durable()
        #expect(read(early) == [])
        let late = try LaunchGate()
        late.bundleReady()
        late.withdraw()
        late.durable()
        #expect(read(late) == Array("b".utf8))
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
