import BerthImages
import BerthLinux
import BerthOCI
import Foundation
import Testing

/// `image bundle` reads the user from the image's own /etc/passwd and /etc/group as the layers
/// stack them (an upper layer's copy, whiteout or opaque /etc wins), never opens anything else
/// there, and leaves nothing behind when it fails or is undone.
@Suite("image bundle: the image's own users, and nothing left behind", .enabled(if: ImagesHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct BundleTests {
    static let passwd = "root:x:0:0:root:/root:/bin/sh\nalice:x:1001:1001:Alice:/home/alice:/bin/sh\n"
    static let group = "root:x:0:\nalice:x:1001:\nstaff:x:50:alice\n"

    /// A bottom layer with /etc/passwd and /etc/group, and `top` over it, as image `name`.
    func importImage(_ workspace: Workspace, _ name: String, user: String, top: [[String: Any]]) throws {
        let base = try workspace.tar(name + "-base.tar", [
            ["name": "etc", "type": "dir"],
            ["name": "etc/passwd", "content": BundleTests.passwd],
            ["name": "etc/group", "content": BundleTests.group],
            ["name": "bin/true", "content": "#!/bin/sh\n", "mode": 0o755],
        ])
        let upper = try workspace.tar(name + "-top.tar", top)
        let layout = try workspace.layout(name + "-layout", config: ["Cmd": ["/bin/true"], "User": user], layers: [base, upper + ":zstd"])
        let imported = try workspace.image("import", "--name", name, layout)
        try #require(imported.succeeded, "\(imported.err)")
    }

    /// What a user checks after a bundle is undone or refused: no bundle directory, no mount,
    /// no container scratch directory, nothing staged.
    func nothingLeft(_ workspace: Workspace, bundle: String) throws {
        #expect(!FileSystem.exists(bundle), "\(bundle) is gone")
        #expect(try !String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8).contains(bundle))
        #expect(try FileSystem.listDirectory(workspace.store + "/containers").isEmpty)
        #expect(try workspace.storeIsClean())
    }

    @Test("User resolves against the /etc/passwd of the top layer that has one", arguments: RootfsBackend.allCases)
    func upperPasswdWins(backend: RootfsBackend) throws {
        let workspace = try Workspace("user-\(backend.rawValue)")
        defer { workspace.cleanUp() }
        try importImage(workspace, "shadowed", user: "alice", top: [
            ["name": "etc/passwd", "content": "root:x:0:0:root:/root:/bin/sh\nalice:x:2002:2002::/srv/alice:/bin/sh\n"],
        ])
        let store = ImageStore(root: workspace.store)
        let bundle = try store.bundle("shadowed", at: workspace.path("bundle"), backend: backend)
        let user = try #require(bundle.spec.process?.user)
        #expect(user.uid == 2002 && user.gid == 2002, "the upper layer's alice, not the lower one's 1001")
        #expect(user.additionalGids == [50], "staff, from the lower layer's /etc/group, lists alice")
        #expect(bundle.spec.process?.env?.contains("HOME=/srv/alice") == true)
        // The config.json on disk says the same.
        #expect(try Spec.load(bundle: bundle.directory).process?.user.uid == 2002)
        try ImageStore.teardown(bundle: bundle.directory)
        try nothingLeft(workspace, bundle: bundle.directory)
    }

    @Test("A whited-out /etc/passwd has no names: User by name is refused in one line, by number works")
    func whitedOutPasswd() throws {
        let workspace = try Workspace("user-whiteout")
        defer { workspace.cleanUp() }
        try importImage(workspace, "byname", user: "alice", top: [["name": "etc/.wh.passwd", "content": ""]])
        let bundle = workspace.path("bundle")
        let refused = try workspace.image("bundle", "byname", bundle)
        #expect(refused.status == .exited(1))
        #expect(refused.err == "berth: image byname:latest: User \"alice\": no user \"alice\" in the image's /etc/passwd")
        try nothingLeft(workspace, bundle: bundle)

        try importImage(workspace, "bynumber", user: "1234:50", top: [["name": "etc/.wh.passwd", "content": ""]])
        let store = ImageStore(root: workspace.store)
        let made = try store.bundle("bynumber", at: bundle)
        #expect(made.spec.process?.user.uid == 1234 && made.spec.process?.user.gid == 50)
        try ImageStore.teardown(bundle: made.directory)
        try nothingLeft(workspace, bundle: bundle)
    }

    @Test("An opaque /etc in an upper layer hides the lower /etc/group")
    func opaqueEtc() throws {
        let workspace = try Workspace("user-opaque")
        defer { workspace.cleanUp() }
        let top: [[String: Any]] = [
            ["name": "etc/.wh..wh..opq", "content": ""],
            ["name": "etc/passwd", "content": "alice:x:3003:3003::/home/alice:/bin/sh\n"],
        ]
        try importImage(workspace, "opaque", user: "alice", top: top)
        let made = try ImageStore(root: workspace.store).bundle("opaque", at: workspace.path("bundle"))
        #expect(made.spec.process?.user.uid == 3003)
        #expect(made.spec.process?.user.additionalGids == nil, "the lower /etc/group (staff) is hidden")
        try ImageStore.teardown(bundle: made.directory)

        try importImage(workspace, "nogroup", user: "alice:staff", top: top)
        let refused = try workspace.image("bundle", "nogroup", workspace.path("other"))
        #expect(refused.status == .exited(1) && refused.err.contains("no group \"staff\" in the image's /etc/group"), "\(refused.err)")
        try nothingLeft(workspace, bundle: workspace.path("other"))
    }

    @Test("An /etc/passwd that is a FIFO is never opened: the bundle answers instead of hanging")
    func fifoPasswd() throws {
        let workspace = try Workspace("user-fifo")
        defer { workspace.cleanUp() }
        try importImage(workspace, "fifo", user: "alice", top: [["name": "etc/passwd", "type": "fifo", "mode": 0o644]])
        let bundle = workspace.path("bundle")
        // Opening the FIFO would block until a writer came: the timeout would kill berth.
        let refused = try ImagesHost.run(
            [ImagesHost.berthBinary, "image", "bundle", "--store", workspace.store, "fifo", bundle], timeout: .seconds(30))
        #expect(refused.status == .exited(1))
        #expect(refused.err.contains("no user \"alice\" in the image's /etc/passwd"), "\(refused.err)")
        try nothingLeft(workspace, bundle: bundle)
    }
}
