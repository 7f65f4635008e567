import BerthLinux
import BerthOCI
import Foundation
import Testing

@Suite("Images built by umoci, podman and skopeo run as their config says", .enabled(if: ImagesHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct RealImageTests {
    @Test("A multi-layer umoci image (whiteout, opaque dir, user, env, workdir, volume) runs", arguments: ["overlay", "copy"])
    func umociImageRuns(backend: String) throws {
        let workspace = try Workspace("umoci-\(backend)")
        defer { workspace.cleanUp() }
        let layout = try RealImages.umociLayout(in: workspace)
        let imported = try workspace.image("import", "--name", "test/umoci:1", layout)
        #expect(imported.succeeded, "\(imported.err)")
        let bundle = workspace.path("bundle")
        let made = try workspace.image("bundle", "--backend", backend, "test/umoci:1", bundle)
        #expect(made.succeeded, "\(made.err)")
        let spec = try Spec.load(bundle: bundle)
        #expect(spec.annotations?["org.opencontainers.image.exposedPorts"] == "8080/tcp")
        #expect(spec.process?.user.uid == 1000 && spec.process?.user.gid == 1000)
        #expect(spec.mounts?.contains { $0.destination == "/data" && $0.type == "bind" } == true)
        let isMounted = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8).contains(bundle + "/rootfs")
        #expect(isMounted == (backend == "overlay"))

        let run = try workspace.berth("run", "--bundle", bundle, "umoci-\(backend)")
        #expect(run.succeeded, "\(run.err)")
        #expect(run.out.split(separator: "\n").map(String.init) == RealImages.expectedOutput)

        // `berth run` deleted the container: its rootfs is unmounted and its upper dir gone.
        let mountsAfter = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!mountsAfter.contains(bundle + "/rootfs"))
        #expect(try FileSystem.listDirectory(workspace.store + "/containers").isEmpty)
        #expect(!FileSystem.exists(bundle + "/rootfs"))
    }

    @Test("A container writes to its own upper dir; the image's layers stay untouched")
    func writesGoToTheUpperDir() throws {
        let workspace = try Workspace("upper")
        defer { workspace.cleanUp() }
        let layout = try RealImages.umociLayout(in: workspace)
        try #require(try workspace.image("import", "--name", "upper", layout).succeeded)
        let bundle = workspace.path("bundle")
        try #require(try workspace.image("bundle", "upper", bundle, "--", "echo changed > /tmp/motd; echo done").succeeded)
        let spec = try Spec.load(bundle: bundle)
        let scratch = try #require(spec.annotations?["org.berth.image.scratch"])
        let run = try workspace.berth("run", "--keep", "--bundle", bundle, "upper")
        #expect(run.succeeded && run.out == "done\n", "\(run.err)")
        #expect(try String(contentsOfFile: scratch + "/upper/tmp/motd", encoding: .utf8) == "changed\n")
        for layer in workspace.layers() {
            #expect(!FileSystem.exists(workspace.store + "/layers/\(layer)/diff/tmp/motd"))
        }
        let second = workspace.path("second")
        try #require(try workspace.image("bundle", "upper", second, "--", "cat /tmp/motd 2>&1; true").succeeded)
        let other = try workspace.berth("run", "--bundle", second, "upper-2")
        #expect(other.out.contains("No such file"), "a fresh container sees the image, not the first one's changes: \(other.out)")
        #expect(try workspace.berth("delete", "upper").succeeded)
        #expect(!FileSystem.exists(scratch))
        #expect(try !String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8).contains(bundle + "/rootfs"))
    }

    @Test("podman save (docker-archive) imports under its RepoTag and runs as its config says")
    func podmanArchiveRuns() throws {
        let workspace = try Workspace("podman")
        defer { workspace.cleanUp() }
        let tag = "localhost/berth-images-test-\(UUID().uuidString.prefix(8).lowercased()):1"
        let archive = try RealImages.podmanArchive(in: workspace, tag: tag)
        let imported = try workspace.image("import", archive)
        #expect(imported.succeeded, "\(imported.err)")
        #expect(imported.out.hasPrefix(tag + " sha256:"))
        let bundle = workspace.path("bundle")
        let made = try workspace.image("bundle", tag, bundle)
        #expect(made.succeeded, "\(made.err)")
        let run = try workspace.berth("run", "--bundle", bundle, "podman")
        #expect(run.succeeded, "\(run.err)")
        #expect(run.out == "from-podman user=nobody cwd=/tmp foo=bar\n")
    }

    @Test("oci-archive and zstd copies made by skopeo import as the same image, sharing every layer")
    func skopeoCopiesShareLayers() throws {
        let workspace = try Workspace("skopeo")
        defer { workspace.cleanUp() }
        let layout = try RealImages.umociLayout(in: workspace)
        try #require(try workspace.image("import", "--name", "first", layout).succeeded)
        let layerCount = workspace.layers().count
        #expect(layerCount == 5)  // rootfs, /data, /srv, opaque /srv, whiteout

        let archive = workspace.path("image.oci.tar")
        try ImagesHost.succeed(["/usr/bin/skopeo", "copy", "oci:\(layout):latest", "oci-archive:\(archive):latest"])
        let fromArchive = try workspace.image("import", "--name", "second", archive)
        #expect(fromArchive.succeeded, "\(fromArchive.err)")
        let zstdLayout = workspace.path("zstd")
        try ImagesHost.succeed(["/usr/bin/skopeo", "copy", "--dest-compress-format", "zstd", "oci:\(layout):latest", "oci:\(zstdLayout):latest"])
        let fromZstd = try workspace.image("import", "--name", "third", zstdLayout)
        #expect(fromZstd.succeeded, "\(fromZstd.err)")

        #expect(workspace.layers().count == layerCount, "each layer is stored once")
        let list = try workspace.image("list", "--format", "json")
        let images = try JSONSerialization.jsonObject(with: Data(list.out.utf8)) as? [[String: Any]] ?? []
        #expect(Set(images.compactMap { $0["id"] as? String }).count == 1)
        #expect(images.compactMap { $0["name"] as? String } == ["first:latest", "second:latest", "third:latest"])

        let bundle = workspace.path("bundle")
        try #require(try workspace.image("bundle", "third", bundle).succeeded)
        let run = try workspace.berth("run", "--bundle", bundle, "zstd")
        #expect(run.out.split(separator: "\n").map(String.init) == RealImages.expectedOutput, "\(run.err)")
    }
}
