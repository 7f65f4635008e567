import BerthImages
import BerthLinux
import Foundation
import Testing

/// Layers written by Python's tarfile (pax and GNU headers), imported, then checked with
/// stat(2) in the store and through both rootfs backends.
@Suite("Layer unpacking keeps what the OCI layer rules say", .enabled(if: ImagesHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct UnpackTests {
    static let longPax = "pax/" + String(repeating: "p", count: 150) + "/file"
    static let longGNU = "gnu/" + String(repeating: "g", count: 180)

    func makeImage(_ workspace: Workspace) throws -> String {
        let base = try workspace.tar("base.tar", [
            ["name": "etc", "type": "dir", "mode": 0o751, "mtime": 1_500_000_000],
            ["name": "etc/secret", "content": "s3cret\n", "mode": 0o600, "uid": 1234, "gid": 5678, "mtime": 1_600_000_000],
            ["name": "etc/link", "type": "symlink", "link": "secret", "uid": 42, "gid": 43],
            ["name": "etc/hard", "type": "hardlink", "link": "etc/secret"],
            ["name": "bin/suid", "content": "#!/bin/sh\n", "mode": 0o4755],
            ["name": "dev/null2", "type": "char", "major": 1, "minor": 3, "mode": 0o666],
            ["name": "dev/loop9", "type": "block", "major": 7, "minor": 9, "mode": 0o660],
            ["name": "run/fifo", "type": "fifo", "mode": 0o644],
            ["name": "xattr", "content": "x", "xattrs": ["user.berth": "yes", "security.capability": "\u{01}\u{00}\u{00}\u{02}\u{00}\u{20}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}\u{00}"]],
            ["name": UnpackTests.longPax, "content": "pax name"],
            ["name": "opaque/old", "content": "old"],
            ["name": "gone", "content": "gone"],
            ["name": "gonedir/inner", "content": "inner"],
        ])
        let top = try workspace.tar("top.tar", [
            ["name": UnpackTests.longGNU, "content": "gnu name", "gnu": true],
            ["name": "gnu/link-" + String(repeating: "l", count: 120), "type": "symlink", "link": String(repeating: "t", count: 150), "gnu": true],
            ["name": "opaque/.wh..wh..opq", "content": "", "gnu": true],
            ["name": "opaque/new", "content": "new", "gnu": true],
            ["name": ".wh.gone", "content": "", "gnu": true],
            ["name": ".wh.gonedir", "content": "", "gnu": true],
        ])
        return try workspace.layout("layout", config: ["Cmd": ["/bin/true"]], layers: [base + ":gzip", top + ":zstd"])
    }

    /// glibc's encoding for small major/minor numbers.
    func deviceNumber(_ major: UInt, _ minor: UInt) -> UInt { major << 8 | minor }

    /// An extended attribute's value, read by Python (no getfattr on these machines).
    func xattr(_ name: String, _ path: String) throws -> String {
        try ImagesHost.succeed(["/usr/bin/python3", "-c", "import os,sys; sys.stdout.write(os.getxattr(sys.argv[2], sys.argv[1], follow_symlinks=False).decode())", name, path])
    }

    func info(_ path: String) -> stat? {
        var result = stat()
        return lstat(path, &result) == 0 ? result : nil
    }

    @Test("Modes, owners, times, links, devices, xattrs, long names and whiteouts in the store")
    func storedLayers() throws {
        let workspace = try Workspace("unpack")
        defer { workspace.cleanUp() }
        let imported = try workspace.image("import", "--name", "unpack", try makeImage(workspace))
        try #require(imported.succeeded, "\(imported.err)")
        let image = try ImageStore(root: workspace.store).inspect("unpack")
        let base = workspace.store + "/layers/\(image.layers[0].diffID.hex)/diff"
        let top = workspace.store + "/layers/\(image.layers[1].diffID.hex)/diff"

        let secret = try #require(info(base + "/etc/secret"))
        #expect(secret.st_mode & 0o7777 == 0o600 && secret.st_uid == 1234 && secret.st_gid == 5678)
        #expect(secret.st_mtim.tv_sec == 1_600_000_000)
        #expect(secret.st_nlink == 2 && info(base + "/etc/hard")?.st_ino == secret.st_ino)
        #expect(info(base + "/etc")?.st_mtim.tv_sec == 1_500_000_000, "directory times are set after their contents")
        #expect(info(base + "/etc")?.st_mode == S_IFDIR | 0o751)
        let link = try #require(info(base + "/etc/link"))
        #expect(link.st_mode & S_IFMT == S_IFLNK && link.st_uid == 42 && link.st_gid == 43)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: base + "/etc/link") == "secret")
        #expect(info(base + "/bin/suid")?.st_mode == S_IFREG | 0o4755)
        let device = try #require(info(base + "/dev/null2"))
        #expect(device.st_mode & S_IFMT == S_IFCHR && device.st_rdev == deviceNumber(1, 3))
        #expect(info(base + "/dev/loop9")?.st_mode == S_IFBLK | 0o660)
        #expect(info(base + "/run/fifo")?.st_mode == S_IFIFO | 0o644)
        let attribute = try xattr("user.berth", base + "/xattr")
        #expect(attribute == "yes")
        #expect(try String(contentsOfFile: base + "/" + UnpackTests.longPax, encoding: .utf8) == "pax name")
        #expect(try String(contentsOfFile: top + "/" + UnpackTests.longGNU, encoding: .utf8) == "gnu name")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: top + "/gnu/link-" + String(repeating: "l", count: 120)) == String(repeating: "t", count: 150))
        // Overlay form: whiteouts are 0:0 character devices, the opaque directory is marked.
        let whiteout = try #require(info(top + "/gone"))
        #expect(whiteout.st_mode & S_IFMT == S_IFCHR && whiteout.st_rdev == 0)
        #expect(try xattr("trusted.overlay.opaque", top + "/opaque") == "y")
        #expect(!FileSystem.exists(top + "/.wh.gone") && !FileSystem.exists(top + "/opaque/.wh..wh..opq"))
    }

    @Test("Both backends show the same merged tree", arguments: RootfsBackend.allCases)
    func mergedView(backend: RootfsBackend) throws {
        let workspace = try Workspace("merged-\(backend.rawValue)")
        defer { workspace.cleanUp() }
        try #require(try workspace.image("import", "--name", "unpack", try makeImage(workspace)).succeeded)
        let store = ImageStore(root: workspace.store)
        let bundle = try store.bundle("unpack", at: workspace.path("bundle"), backend: backend)
        defer { try? ImageStore.teardown(bundle: bundle.directory) }
        let rootfs = bundle.rootfs
        #expect(!FileSystem.exists(rootfs + "/gone") && !FileSystem.exists(rootfs + "/gonedir"))
        #expect(try FileSystem.listDirectory(rootfs + "/opaque") == ["new"])
        #expect(try String(contentsOfFile: rootfs + "/etc/secret", encoding: .utf8) == "s3cret\n")
        #expect(info(rootfs + "/etc/secret")?.st_uid == 1234)
        #expect(info(rootfs + "/etc/secret")?.st_ino == info(rootfs + "/etc/hard")?.st_ino)
        #expect(info(rootfs + "/bin/suid")?.st_mode == S_IFREG | 0o4755)
        #expect(info(rootfs + "/dev/null2")?.st_rdev == Optional(deviceNumber(1, 3)))
        #expect(try xattr("user.berth", rootfs + "/xattr") == "yes")
        #expect(try String(contentsOfFile: rootfs + "/" + UnpackTests.longGNU, encoding: .utf8) == "gnu name")

        try ImageStore.teardown(bundle: bundle.directory)
        #expect(!FileSystem.exists(bundle.scratch) && !FileSystem.exists(rootfs))
        #expect(try !String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8).contains(rootfs))
    }
}
