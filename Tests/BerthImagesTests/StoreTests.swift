import BerthImages
import BerthLinux
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("The store: shared layers, prune, interrupted imports", .enabled(if: ImagesHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct StoreTests {
    @Test("prune keeps what an image or a live bundle uses and removes the rest")
    func prune() throws {
        let workspace = try Workspace("prune")
        defer { workspace.cleanUp() }
        let base = try workspace.tar("base.tar", [["name": "bin/busybox", "content": "not really"], ["name": "shared", "content": "base"]])
        let a = try workspace.tar("a.tar", [["name": "a", "content": "only a"]])
        let b = try workspace.tar("b.tar", [["name": "b", "content": "only b"]])
        let layoutA = try workspace.layout("A", config: ["Cmd": ["/a"]], layers: [base, a])
        let layoutB = try workspace.layout("B", config: ["Cmd": ["/b"]], layers: [base + ":zstd", b])
        try #require(try workspace.image("import", "--name", "a", layoutA).succeeded)
        try #require(try workspace.image("import", "--name", "b", layoutB).succeeded)
        #expect(workspace.layers().count == 3, "the base layer is stored once")

        let store = ImageStore(root: workspace.store)
        let imageA = try store.inspect("a")
        let bundle = try store.bundle("a", at: workspace.path("bundle-a"))
        #expect(try workspace.image("remove", "a").succeeded)
        let first = try store.prune()
        #expect(first.layers.isEmpty, "a's bundle still uses its layers")
        #expect(first.blobs.contains(imageA.id), "a's config blob is no image's")
        #expect(try workspace.image("unbundle", bundle.directory).succeeded)
        let report = try store.prune()
        #expect(report.layers == [imageA.layers[1].diffID], "only a's own layer: base is b's too")
        #expect(workspace.layers().count == 2)
        let stillRuns = try store.bundle("b", at: workspace.path("bundle-b"), backend: .copy)
        #expect(try String(contentsOfFile: stillRuns.rootfs + "/shared", encoding: .utf8) == "base")
        try ImageStore.teardown(bundle: stillRuns.directory)

        // A bundle directory deleted by hand: prune removes its scratch dir.
        let lost = try store.bundle("b", at: workspace.path("lost"), backend: .copy)
        try FileSystem.removeTree(lost.directory)
        #expect(try store.prune().containers == [URL(fileURLWithPath: lost.scratch).lastPathComponent])
    }

    @Test("The linux/amd64 entry of a multi-platform index is the one imported")
    func picksLinuxAmd64() throws {
        let workspace = try Workspace("platform")
        defer { workspace.cleanUp() }
        let layer = try workspace.tar("layer.tar", [["name": "hello", "content": "amd64"]])
        let layout = try workspace.layout("layout", config: ["Cmd": ["/hello"]], layers: [layer])
        // Other platforms first, pointing at blobs that are not there: choosing one would fail.
        let indexPath = layout + "/index.json"
        var index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: indexPath))) as! [String: Any]
        var manifests = index["manifests"] as! [[String: Any]]
        for (os, architecture) in [("linux", "arm64"), ("windows", "amd64")] {
            manifests.insert([
                "mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 100,
                "digest": "sha256:" + String(repeating: architecture == "arm64" ? "a" : "b", count: 64),
                "platform": ["os": os, "architecture": architecture],
            ], at: 0)
        }
        index["manifests"] = manifests
        try JSONSerialization.data(withJSONObject: index).write(to: URL(fileURLWithPath: indexPath))
        let imported = try workspace.image("import", "--name", "multi", layout)
        #expect(imported.succeeded, "\(imported.err)")
        let image = try ImageStore(root: workspace.store).inspect("multi")
        #expect(image.architecture == "amd64" && image.config.Cmd == ["/hello"])
    }

    @Test("An import killed half-way shows nothing; re-running it completes it")
    func interruptedImport() throws {
        let workspace = try Workspace("interrupt")
        defer { workspace.cleanUp() }
        let small = try workspace.tar("small.tar", [["name": "etc/os-release", "content": "NAME=test\n"]])
        let big = workspace.path("big.tar")
        try ImagesHost.succeed(["/usr/bin/python3", ImagesHost.builder, "random-layer", big, "96", "1"])
        let layout = try workspace.layout("layout", config: ["Cmd": ["/bin/true"]], layers: [small + ":none", big + ":none"])

        var importer = ChildProcess(path: ImagesHost.berthBinary, arguments: [ImagesHost.berthBinary, "image", "import", "--store", workspace.store, "--name", "big", layout])
        importer.environment = ChildProcess.inheritedEnvironment()
        let handle = try importer.spawn()
        defer { handle.close() }
        // Kill it while the big layer is being written into tmp/ (the small one may still be
        // there too, flushing). Looked for in this process: starting `find` for every look took
        // long enough on a loaded machine to miss the whole write.
        var caught = false
        let deadline = ContinuousClock.now + .seconds(120)
        while !caught && ContinuousClock.now < deadline {
            if Self.growingFile(named: "random-1.bin", under: workspace.store + "/tmp", largerThan: 1 << 20) {
                try handle.signal(SIGKILL)
                caught = true
            } else if try handle.waitReadable(timeout: .milliseconds(1)) {
                break   // the import ended first
            }
        }
        _ = try handle.wait()
        try #require(caught, "the import finished before it could be interrupted")

        #expect(try workspace.image("list", "--format", "json").out == "[]\n", "no image is visible")
        for layer in workspace.layers() {
            #expect(FileSystem.exists(workspace.store + "/layers/\(layer)/layer.json"), "only complete layers are in layers/")
        }
        #expect(workspace.layers().count <= 1)

        let rerun = try workspace.image("import", "--name", "big", layout)
        #expect(rerun.succeeded, "\(rerun.err)")
        #expect(workspace.layers().count == 2)
        #expect(try FileSystem.listDirectory(workspace.store + "/tmp").isEmpty, "the leftover staging dir was cleared")
        let image = try ImageStore(root: workspace.store).inspect("big")
        var info = stat()
        #expect(stat(workspace.store + "/layers/\(image.layers[1].diffID.hex)/diff/data/random-1.bin", &info) == 0 && info.st_size == 96 << 20)
    }

    /// Whether a file `name` over `size` bytes is somewhere under `directory`.
    static func growingFile(named name: String, under directory: String, largerThan size: Int) -> Bool {
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return false }
        for case let path as String in walker where (path as NSString).lastPathComponent == name {
            var info = stat()
            if stat(directory + "/" + path, &info) == 0 && info.st_size > size { return true }
        }
        return false
    }
}
