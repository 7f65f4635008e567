import BerthLinux
import BerthTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The machine and the binaries under test (BerthTestSupport), and the image tests' own tools.
typealias ImagesHost = TestEnvironment

extension TestEnvironment {
    static let builder = packageRoot + "/Fixtures/images/oci-builder.py"

    /// Runs and requires exit status 0, showing stderr otherwise.
    @discardableResult
    static func succeed(_ arguments: [String], input: String? = nil) throws -> String {
        let output = try run(arguments, input: input, timeout: .seconds(120))
        guard output.status == .exited(0) else {
            throw TestFailure("\(arguments.joined(separator: " ")) failed (\(output.status)): \(output.standardErrorText)")
        }
        return output.standardOutputText
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One test's world: a directory under /tmp/berth-tests with its own image store and berth
/// state root. `cleanUp` deletes containers, unmounts bundles and removes everything.
struct Workspace {
    let directory: String
    var store: String { directory + "/store" }
    var stateRoot: String { directory + "/state" }
    /// A directory the hostile-input tests watch: nothing may ever appear in it.
    var outside: String { directory + "/outside" }

    init(_ label: String) throws {
        directory = try TestEnvironment.temporaryDirectory("images-\(label)")
        try FileSystem.createDirectory(outside)
    }

    func path(_ name: String) -> String { directory + "/" + name }

    /// `berth ARGS` with this workspace's state root.
    @discardableResult
    func berth(_ arguments: String...) throws -> ChildProcess.Output {
        try ImagesHost.run([ImagesHost.berthBinary, "--root", stateRoot] + arguments, timeout: .seconds(120))
    }

    /// `berth image SUBCOMMAND --store <ours> ARGS`.
    @discardableResult
    func image(_ subcommand: String, _ arguments: String...) throws -> ChildProcess.Output {
        try ImagesHost.run([ImagesHost.berthBinary, "image", subcommand, "--store", store] + arguments, timeout: .seconds(120))
    }

    /// Python's tarfile writes what real tools refuse to: `entries` as oci-builder.py reads them.
    func tar(_ name: String, _ entries: [[String: Any]], corruptFirstHeader: Bool = false) throws -> String {
        let spec = path(name + ".json")
        let data = try JSONSerialization.data(withJSONObject: ["entries": entries, "corruptFirstHeader": corruptFirstHeader])
        try data.write(to: URL(fileURLWithPath: spec))
        let out = path(name)
        try ImagesHost.succeed(["/usr/bin/python3", ImagesHost.builder, "tar", out, spec])
        return out
    }

    /// An OCI layout of `layers` (each "PATH[:gzip|zstd|none|gzip-truncated]") with `config`.
    func layout(_ name: String, config: [String: Any], layers: [String], tamper: String? = nil) throws -> String {
        let configPath = path(name + "-config.json")
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        let out = path(name)
        var arguments = ["/usr/bin/python3", ImagesHost.builder, "layout", out, configPath] + layers
        if let tamper { arguments += ["--tamper", tamper] }
        try ImagesHost.succeed(arguments)
        return out
    }

    /// Image files stay in the store directory: nothing under `outside`, nothing left in tmp/.
    func storeIsClean() throws -> Bool {
        let staging = (try? FileSystem.listDirectory(store + "/tmp")) ?? []
        let outsideEntries = try FileSystem.listDirectory(outside)
        return staging.isEmpty && outsideEntries.isEmpty
    }

    func layers() -> [String] { (try? FileSystem.listDirectory(store + "/layers")) ?? [] }

    func cleanUp() {
        if let ids = try? FileSystem.listDirectory(stateRoot) {
            for id in ids { _ = try? berth("delete", "--force", id) }
        }
        // Bundles still mounted (a failed test): unmount before removing.
        if let mounts = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) {
            for line in mounts.split(separator: "\n") {
                let fields = line.split(separator: " ")
                if fields.count > 4, fields[4].hasPrefix(directory) { umount2(String(fields[4]), Int32(MNT_DETACH)) }
            }
        }
        _ = try? ImagesHost.run(["/bin/rm", "-rf", directory])
    }
}

extension ChildProcess.Output {
    var succeeded: Bool { status == .exited(0) }
    var out: String { standardOutputText }
    var err: String { standardErrorText.trimmingCharacters(in: .whitespacesAndNewlines) }
}
