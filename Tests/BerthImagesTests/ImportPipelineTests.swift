import BerthImages
import BerthLinux
import Foundation
import Testing

/// The import reads and decompresses each layer on a second thread and flushes one layer to
/// disk while the next unpacks. These pin what that must not change: every byte is still
/// verified, a layer named twice is stored once, and a failure keeps the layers that were
/// complete and nothing else.
@Suite("Import: prefetching, flushing and verifying layers", .enabled(if: ImagesHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct ImportPipelineTests {
    /// Replaces the last layer of `layout` by `tar` gzipped with stored (uncompressed) deflate
    /// blocks and one byte of file content flipped, then fixes the manifest's digest and size
    /// and the index to match: a blob whose digest is right, that decodes without a deflate
    /// error, and whose gzip CRC (which berth does not check) is wrong. Only the diff_id can
    /// catch it.
    func corruptLastLayer(_ layout: String, tar: String) throws {
        let script = """
            import gzip, hashlib, json, os, sys
            layout, tar = sys.argv[1], sys.argv[2]
            def path(digest): return os.path.join(layout, "blobs", "sha256", digest.split(":")[1])
            def store(data):
                digest = "sha256:" + hashlib.sha256(data).hexdigest()
                open(path(digest), "wb").write(data)
                return digest
            index = json.load(open(os.path.join(layout, "index.json")))
            manifest = json.load(open(path(index["manifests"][0]["digest"])))
            raw = open(tar, "rb").read()
            data = bytearray(gzip.compress(raw, compresslevel=0, mtime=0))
            at = len(data) // 2
            assert data[at] == ord("a"), "the middle of the blob is file content"
            data[at] = ord("b")
            layer = manifest["layers"][-1]
            layer["digest"], layer["size"] = store(bytes(data)), len(data)
            layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
            body = json.dumps(manifest).encode()
            index["manifests"][0]["digest"], index["manifests"][0]["size"] = store(body), len(body)
            json.dump(index, open(os.path.join(layout, "index.json"), "w"))
            """
        try ImagesHost.succeed(["/usr/bin/python3", "-c", script, layout, tar])
    }

    @Test("A gzip layer with a matching blob digest but altered content is refused by its diff_id")
    func alteredContentIsCaught() throws {
        let workspace = try Workspace("altered")
        defer { workspace.cleanUp() }
        let tar = try workspace.tar("layer.tar", [["name": "data", "content": String(repeating: "a", count: 200_000)]])
        let layout = try workspace.layout("layout", config: ["Cmd": ["/data"]], layers: [tar + ":none"])
        try corruptLastLayer(layout, tar: tar)

        let result = try workspace.image("import", "--name", "altered", layout)
        #expect(result.status == .exited(1))
        #expect(result.err.split(separator: "\n").count == 1, "one line: \(result.err)")
        #expect(result.err.contains("layer 1 of 1") && result.err.contains("diff_id") && result.err.contains("digest mismatch"), "\(result.err)")
        #expect(try workspace.image("list", "--format", "json").out == "[]\n")
        #expect(workspace.layers().isEmpty)
        #expect(try workspace.storeIsClean())
    }

    @Test("A layer named twice in one image is unpacked once and shows in the bundle")
    func repeatedLayer() throws {
        let workspace = try Workspace("repeated")
        defer { workspace.cleanUp() }
        let a = try workspace.tar("a.tar", [["name": "from-a", "content": "a\n"], ["name": "shared", "content": "a\n"]])
        let b = try workspace.tar("b.tar", [["name": "from-b", "content": "b\n"], ["name": "shared", "content": "b\n"]])
        // Twice in a row (the second while the first is still flushing), then again on top.
        let layout = try workspace.layout("layout", config: ["Cmd": ["/bin/true"]], layers: [a, a + ":zstd", b, a + ":none"])
        let imported = try workspace.image("import", "--name", "aba", layout)
        #expect(imported.succeeded, "\(imported.err)")
        #expect(workspace.layers().count == 2)
        #expect(try workspace.storeIsClean())
        let store = ImageStore(root: workspace.store)
        #expect(try store.inspect("aba").layers.count == 4)
        let bundle = try store.bundle("aba", at: workspace.path("bundle"))
        defer { try? ImageStore.teardown(bundle: bundle.directory) }
        #expect(try String(contentsOfFile: bundle.rootfs + "/shared", encoding: .utf8) == "a\n", "the top copy of a wins")
        #expect(FileSystem.exists(bundle.rootfs + "/from-b"))
    }

    @Test("A bad last layer: the layers before it are kept complete, nothing else is written")
    func failureKeepsCompleteLayers() throws {
        let workspace = try Workspace("partial")
        defer { workspace.cleanUp() }
        let first = workspace.path("first.tar")
        try ImagesHost.succeed(["/usr/bin/python3", ImagesHost.builder, "random-layer", first, "8", "1"])
        let second = try workspace.tar("second.tar", [["name": "etc/os-release", "content": "NAME=test\n"]])
        let bad = try workspace.tar("bad.tar", [["name": "data", "content": String(repeating: "a", count: 200_000)]])
        let layout = try workspace.layout("layout", config: ["Cmd": ["/bin/true"]], layers: [first, second + ":zstd", bad + ":none"])
        try corruptLastLayer(layout, tar: bad)

        let result = try workspace.image("import", "--name", "partial", layout)
        #expect(result.status == .exited(1) && result.err.contains("layer 3 of 3"), "\(result.err)")
        #expect(try workspace.image("list", "--format", "json").out == "[]\n")
        #expect(workspace.layers().count == 2, "the two good layers were committed")
        for layer in workspace.layers() {
            #expect(FileSystem.exists(workspace.store + "/layers/\(layer)/layer.json"))
        }
        #expect(try workspace.storeIsClean(), "the bad layer's staging directory is gone")
        var info = stat()
        let random = workspace.layers().map { workspace.store + "/layers/\($0)/diff/data/random-1.bin" }.first { stat($0, &info) == 0 }
        #expect(random != nil && info.st_size == 8 << 20)
    }
}
