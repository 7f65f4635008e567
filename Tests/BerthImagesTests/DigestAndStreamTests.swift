import BerthLinux
import Foundation
import Testing
@testable import BerthImages

@Suite("SHA-256, decompression and the tar reader, against the system's tools")
struct DigestAndStreamTests {
    @Test("SHA-256 matches sha256sum at every padding boundary and when fed in odd chunks")
    func sha256MatchesSha256sum() throws {
        let workspace = try Workspace("sha")
        defer { workspace.cleanUp() }
        var generator = SystemRandomNumberGenerator()
        for size in [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 65537, 3 << 20] {
            let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let file = workspace.path("data-\(size)")
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            let expected = String(try ImagesHost.succeed(["/usr/bin/sha256sum", file]).prefix(64))
            #expect(Digest.of(bytes).hex == expected, "size \(size)")
            var hasher = SHA256()
            var offset = 0
            var chunk = 1
            while offset < size {
                let end = min(size, offset + chunk)
                hasher.update(Array(bytes[offset..<end]))
                offset = end
                chunk = chunk * 3 + 1
            }
            #expect(hasher.finish().hex == expected, "size \(size) in chunks")
            #expect(hasher.count == UInt64(size))
        }
    }

    @Test("Digests other than sha256:<64 lowercase hex> are refused before they can name a file")
    func digestParsing() throws {
        #expect(throws: ImageError.self) { try Digest(parsing: "sha256:../../etc/passwd") }
        #expect(throws: ImageError.self) { try Digest(parsing: "sha512:" + String(repeating: "a", count: 128)) }
        #expect(throws: ImageError.self) { try Digest(parsing: "sha256:" + String(repeating: "A", count: 64)) }
        #expect(try Digest(parsing: "sha256:" + String(repeating: "a", count: 64)).hex.count == 64)
    }

    @Test("gzip (multi-member) and zstd streams decode to what gzip and zstd compressed", arguments: ["gzip", "zstd"])
    func decompression(tool: String) throws {
        let workspace = try Workspace("decompress")
        defer { workspace.cleanUp() }
        let original = workspace.path("original")
        var bytes = [UInt8]()
        for i in 0..<300_000 { bytes.append(UInt8(truncatingIfNeeded: i * 7 + i / 1000)) }
        try Data(bytes).write(to: URL(fileURLWithPath: original))
        let compressed = workspace.path("compressed")
        try ImagesHost.succeed(["/bin/sh", "-c", "\(tool) -c \(original) > \(compressed) && \(tool) -c \(original) >> \(compressed)"])
        let decoded = try decodeFile(compressed, tool == "gzip" ? .gzip : .zstd)
        #expect(decoded == bytes + bytes)

        // Cut in half: an error saying so, never a silent short read.
        let data = try Data(contentsOf: URL(fileURLWithPath: compressed))
        try data.prefix(data.count / 4).write(to: URL(fileURLWithPath: compressed))
        #expect(throws: ImageError.self) { try decodeFile(compressed, tool == "gzip" ? .gzip : .zstd) }
    }

    private func decodeFile(_ path: String, _ compression: Compression) throws -> [UInt8] {
        let fd = try FileDescriptor.open(path, O_RDONLY)
        defer { fd.close() }
        var info = stat()
        fstat(fd.rawValue, &info)
        let stream = try DecompressingStream(FileRangeStream(fd: fd, name: path, offset: 0, length: Int64(info.st_size)), compression: compression)
        var result: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 7000, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = try stream.read(into: buffer)
            if count == 0 { return result }
            result.append(contentsOf: buffer[0..<count])
        }
    }

    @Test("The tar reader reads what GNU tar writes: long names, links, modes, sizes")
    func readsGNUTar() throws {
        let workspace = try Workspace("tar")
        defer { workspace.cleanUp() }
        let tree = workspace.path("tree")
        let long = String(repeating: "d", count: 120) + "/" + String(repeating: "f", count: 140)
        try FileSystem.createDirectory(tree + "/" + String(repeating: "d", count: 120))
        try Data("long name\n".utf8).write(to: URL(fileURLWithPath: tree + "/" + long))
        try Data(repeating: 7, count: 70_000).write(to: URL(fileURLWithPath: tree + "/big"))
        try ImagesHost.succeed(["/bin/ln", "-s", "big", tree + "/link"])
        try ImagesHost.succeed(["/bin/ln", tree + "/big", tree + "/hard"])
        try ImagesHost.succeed(["/bin/chmod", "4711", tree + "/big"])
        let archive = workspace.path("gnu.tar")
        try ImagesHost.succeed(["/bin/tar", "--format=gnu", "-C", tree, "-cf", archive, "."])
        let fd = try FileDescriptor.open(archive, O_RDONLY)
        defer { fd.close() }
        var info = stat()
        fstat(fd.rawValue, &info)
        let reader = TarReader(FileRangeStream(fd: fd, name: archive, offset: 0, length: Int64(info.st_size)))
        var seen: [String: TarEntry] = [:]
        var bigContent = 0
        while let entry = try reader.next() {
            seen[BlobSource.normalize(entry.path)] = entry
            // big and hard share an inode: whichever tar met first carries the content.
            if entry.kind == .regular && entry.size == 70_000 { try reader.readContent { bigContent += $0.count } }
        }
        try reader.finish()
        #expect(seen[long]?.kind == .regular)
        #expect(seen[long]?.size == 10)
        #expect(seen["big"]?.mode == 0o4711 || seen["hard"]?.mode == 0o4711)
        #expect(bigContent == 70_000)
        #expect(seen["link"]?.kind == .symlink && seen["link"]?.linkName == "big")
        #expect(seen["hard"]?.kind == .hardLink || seen["big"]?.kind == .hardLink)
    }
}
