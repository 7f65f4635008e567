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

    @Test("without fsync an existing file is swapped for the new one: a reader keeps the old whole, nothing is left over")
    func replacesExistingWithoutSync() throws {
        let dir = try directory()
        defer { try? FileSystem.removeTree(dir) }
        let path = dir + "/state.json"
        try FileSystem.writeAtomically(Array("old".utf8), to: path, durable: false)
        let reader = open(path, O_RDONLY)
        #expect(reader >= 0)
        defer { close(reader) }
        try FileSystem.writeAtomically(Array("new contents".utf8), to: path, mode: 0o600, durable: false)
        #expect(try FileSystem.readString(path) == "new contents")
        var buffer = [UInt8](repeating: 0, count: 16)
        #expect(pread(reader, &buffer, buffer.count, 0) == 3 && buffer.prefix(3) == Array("old".utf8)[...])
        #expect(try FileSystem.listDirectory(dir) == ["state.json"])
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
    }

    @Test("a symlink at the target is replaced, never written through")
    func symlinkAtTarget() throws {
        let dir = try directory()
        defer { try? FileSystem.removeTree(dir) }
        let target = dir + "/elsewhere"
        try FileSystem.writeAtomically(Array("untouched".utf8), to: target)
        #expect(symlink(target, dir + "/pid") == 0)
        try FileSystem.writeAtomically(Array("42".utf8), to: dir + "/pid", durable: false)
        var info = stat()
        #expect(lstat(dir + "/pid", &info) == 0 && info.st_mode & S_IFMT == S_IFREG)
        #expect(try FileSystem.readString(dir + "/pid") == "42")
        #expect(try FileSystem.readString(target) == "untouched")
        #expect(try FileSystem.listDirectory(dir) == ["elsewhere", "pid"])
    }

    @Test("a directory at the target is refused, with or without fsync, and stays where it was", arguments: [false, true])
    func directoryAtTarget(durable: Bool) throws {
        let dir = try directory()
        defer { try? FileSystem.removeTree(dir) }
        try FileSystem.createDirectory(dir + "/pid/inside")
        let error = try #require(throws: SystemError.self) {
            try FileSystem.writeAtomically(Array("42".utf8), to: dir + "/pid", durable: durable)
        }
        #expect(error.errno == Errno(EISDIR))
        #expect(FileSystem.isDirectory(dir + "/pid/inside"))
        #expect(try FileSystem.listDirectory(dir) == ["pid"])
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
