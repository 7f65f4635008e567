import BerthLinux
import Foundation
import Testing

/// Each case builds a broken or hostile image by hand, imports it with the real berth binary,
/// and checks: exit status 1, one line naming the entry or blob, no image in the list, nothing
/// in the store's tmp/, and nothing written outside the store.
@Suite("Hostile and broken images are refused, naming the entry; nothing leaves the store", .enabled(if: ImagesHost.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct HostileInputTests {
    struct Case: CustomStringConvertible, Sendable {
        var name: String
        /// Entries given the workspace's `outside` directory and `victim` file paths.
        var entries: @Sendable (_ outside: String, _ victim: String) -> [[String: Any]]
        var compression = "gzip"
        var tamper: String?
        var corruptFirstHeader = false
        /// Every fragment must appear in the error line.
        var expected: [String]
        var description: String { name }
    }

    static var file: [String: Any] { ["name": "ok.txt", "content": "fine"] }

    static let cases: [Case] = [
        Case(name: "dot-dot path", entries: { _, _ in [file, ["name": "../../../../escape", "content": "x"]] },
             expected: ["entry \"../../../../escape\"", "leaves the layer"]),
        Case(name: "absolute path", entries: { outside, _ in [["name": outside + "/abs", "content": "x"]] },
             expected: ["/abs\"", "absolute path"]),
        Case(name: "write through an absolute symlink", entries: { outside, _ in
            [["name": "evil", "type": "symlink", "link": outside], ["name": "evil/pwned", "content": "x"]] },
             expected: ["entry \"evil/pwned\"", "\"evil\" is a symlink"]),
        Case(name: "directory through a relative symlink", entries: { outside, _ in
            [["name": "a", "type": "dir"], ["name": "a/up", "type": "symlink", "link": "../../../../../../../../../../" + outside],
             ["name": "a/up/sub", "type": "dir"]] },
             expected: ["entry \"a/up/sub/\"", "\"a/up\" is a symlink"]),
        Case(name: "hard link out of the layer", entries: { _, _ in [["name": "hl", "type": "hardlink", "link": "../../../../../etc/passwd"]] },
             expected: ["entry \"hl\"", "hard link target \"../../../../../etc/passwd\"", "leaves the layer"]),
        Case(name: "hard link through a symlink", entries: { _, victim in
            [["name": "dir", "type": "symlink", "link": (victim as NSString).deletingLastPathComponent],
             ["name": "hl", "type": "hardlink", "link": "dir/victim"]] },
             expected: ["entry \"hl\"", "\"dir\" is a symlink"]),
        Case(name: "overlayfs xattr smuggled in", entries: { _, _ in
            [["name": "d", "type": "dir", "xattrs": ["trusted.overlay.redirect": "/etc"]]] },
             expected: ["entry \"d/\"", "trusted.overlay.redirect", "reserved"]),
        Case(name: "layer digest mismatch", entries: { _, _ in [file] }, tamper: "digest",
             expected: ["layer 1 of 1", "blobs/sha256/", "digest mismatch"]),
        Case(name: "layer size mismatch", entries: { _, _ in [file] }, tamper: "size",
             expected: ["layer blob sha256:", "size is", "the manifest says"]),
        Case(name: "manifest names a missing blob", entries: { _, _ in [file] }, tamper: "missing",
             expected: ["layers[0]", "is missing from"]),
        Case(name: "diff_id mismatch", entries: { _, _ in [file] }, tamper: "diffid",
             expected: ["layer 1 of 1", "diff_id", "digest mismatch"]),
        Case(name: "truncated gzip stream", entries: { _, _ in
            (0..<40).map { ["name": "file\($0)", "content": String(repeating: "\($0)abcdefgh", count: 300)] } },
             compression: "gzip-truncated", expected: ["layer 1 of 1", "truncated"]),
        Case(name: "corrupt tar header", entries: { _, _ in [file] }, corruptFirstHeader: true,
             expected: ["layer 1 of 1", "checksum mismatch"]),
    ]

    @Test("Refused with one line naming what is wrong", arguments: cases)
    func refused(_ hostile: Case) throws {
        let workspace = try Workspace("hostile")
        defer { workspace.cleanUp() }
        let victim = workspace.path("victims/victim")
        try FileSystem.createDirectory(workspace.path("victims"))
        try Data("original\n".utf8).write(to: URL(fileURLWithPath: victim))
        let layer = try workspace.tar("layer.tar", hostile.entries(workspace.outside, victim), corruptFirstHeader: hostile.corruptFirstHeader)
        let layout = try workspace.layout("layout", config: ["Cmd": ["/bin/true"]], layers: ["\(layer):\(hostile.compression)"], tamper: hostile.tamper)

        let result = try workspace.image("import", "--name", "hostile", layout)
        #expect(result.status == .exited(1))
        #expect(result.err.split(separator: "\n").count == 1, "one line: \(result.err)")
        for fragment in hostile.expected {
            #expect(result.err.contains(fragment), "\"\(fragment)\" in: \(result.err)")
        }
        #expect(try workspace.image("list", "--format", "json").out == "[]\n")
        #expect(workspace.layers().isEmpty, "no layer committed")
        #expect(try workspace.storeIsClean(), "tmp/ and the outside directory are empty")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "original\n")
        #expect(!FileSystem.exists("/etc/passwd.berth") && !FileSystem.exists(workspace.directory + "/escape"))
    }

    @Test("A file replacing a symlink replaces the link, never writes to its target")
    func fileOverSymlinkReplacesTheLink() throws {
        let workspace = try Workspace("replace")
        defer { workspace.cleanUp() }
        let victim = workspace.path("victim")
        try Data("original\n".utf8).write(to: URL(fileURLWithPath: victim))
        let layer = try workspace.tar("layer.tar", [
            ["name": "link", "type": "symlink", "link": victim],
            ["name": "link", "content": "overwritten\n"],
        ])
        let layout = try workspace.layout("layout", config: ["Cmd": ["/bin/true"]], layers: [layer + ":none"])
        let result = try workspace.image("import", "--name", "replace", layout)
        #expect(result.succeeded, "\(result.err)")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "original\n")
        let stored = workspace.store + "/layers/" + (workspace.layers().first ?? "") + "/diff/link"
        #expect(try String(contentsOfFile: stored, encoding: .utf8) == "overwritten\n")
    }

    @Test("berth delete removes only the scratch directory image bundle recorded, whatever config.json says")
    func deleteChecksTheRecord() throws {
        let workspace = try Workspace("annotation")
        defer { workspace.cleanUp() }
        let layer = try workspace.tar("layer.tar", [["name": "bin", "type": "symlink", "link": ImagesHost.rootfs + "/bin"]])
        let layout = try workspace.layout("layout", config: ["Cmd": ["/bin/true"]], layers: [layer])
        try #require(try workspace.image("import", "--name", "tiny", layout).succeeded)
        let bundle = workspace.path("bundle")
        try #require(try workspace.image("bundle", "--backend", "copy", "tiny", bundle).succeeded)
        // Point the scratch annotation at a directory berth must not remove.
        let victim = workspace.path("precious")
        try FileSystem.createDirectory(victim)
        try Data("keep me\n".utf8).write(to: URL(fileURLWithPath: victim + "/data"))
        let configPath = bundle + "/config.json"
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as! [String: Any]
        var annotations = config["annotations"] as! [String: String]
        annotations["org.berth.image.scratch"] = victim
        config["annotations"] = annotations
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        _ = try workspace.berth("create", "--bundle", bundle, "annotated")
        _ = try workspace.berth("delete", "--force", "annotated")
        #expect(try String(contentsOfFile: victim + "/data", encoding: .utf8) == "keep me\n")
        #expect(FileSystem.exists(bundle + "/rootfs"), "nothing was released on the word of a hand-edited annotation")
    }

    @Test("Bad names and references are one-line errors")
    func badNames() throws {
        let workspace = try Workspace("names")
        defer { workspace.cleanUp() }
        let missing = try workspace.image("inspect", "nothing:here")
        #expect(missing.status == .exited(1) && missing.err == "berth: no image named \"nothing:here\" in \(workspace.store)")
        let bad = try workspace.image("remove", "../../etc")
        #expect(bad.status == .exited(1) && bad.err.contains("image name \"../../etc\" is not valid"))
        let notAnImage = try workspace.image("import", "--name", "x", "/etc")
        #expect(notAnImage.status == .exited(1) && notAnImage.err.contains("neither an OCI image layout"))
        let noFile = try workspace.image("import", "--name", "x", workspace.path("absent.tar"))
        #expect(noFile.status == .exited(1) && noFile.err.contains("absent.tar"))
    }
}
