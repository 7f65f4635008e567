import BerthLinux
import BerthTestSupport
import Foundation
import Testing

@Suite struct AtomicWriteTests {
    private func directory() throws -> String { try TestEnvironment.temporaryDirectory("atomic") }

    @Test("a file is replaced whole, with or without fsync, and leaves no temporary file")
    func replacesWhole() throws {
        let dir = try directory()
        defer { try? FileSystem.removeTree(dir) }
        let path = dir + "/config.json"
        try FileSystem.writeAtomically(Array("{\"a\":1}".utf8), to: path, mode: 0o600, durable: false)
        try FileSystem.writeAtomically(Array("{}".utf8), to: path, mode: 0o600)
        try FileSystem.makeDurable(path)
        #expect(try FileSystem.readString(path) == "{}")
        #expect(try FileSystem.listDirectory(dir) == ["config.json"])
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
    }

    @Test("a symlink planted at the temporary name is not followed")
    func plantedSymlink() throws {
        let dir = try directory()
        defer { try? FileSystem.removeTree(dir) }
        let path = dir + "/state.json"
        try FileSystem.writeAtomically(Array("{}".utf8), to: path, durable: false)
        let target = dir + "/elsewhere"
        #expect(symlink(target, path + ".tmp-\(getpid())-\(pthread_self())") == 0)
        #expect(throws: SystemError.self) { try FileSystem.writeAtomically(Array("x".utf8), to: path, durable: false) }
        #expect(!FileSystem.exists(target))
        #expect(try FileSystem.readString(path) == "{}")
    }

    @Test("makeDurable names a missing file")
    func missing() {
        #expect(throws: SystemError.self) { try FileSystem.makeDurable("/nonexistent-berth/x") }
    }
}
