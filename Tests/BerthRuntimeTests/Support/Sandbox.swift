import BerthLinux
import BerthOCI
import Foundation
import Testing

/// One test's world: a private state root for berth, and bundles made from the busybox rootfs.
/// `cleanUp` force-deletes whatever the test left and removes the directories.
struct Sandbox {
    let directory: String
    var stateRoot: String { directory + "/state" }

    init(_ label: String = "test") throws {
        directory = try TestHost.temporaryDirectory(label)
    }

    /// A bundle whose config is the default spec, without a terminal, running `arguments`,
    /// then changed by `edit`.
    func bundle(_ arguments: [String], name: String = "bundle", edit: (inout Spec) -> Void = { _ in }) throws -> String {
        let path = directory + "/" + name
        try FileSystem.createDirectory(path)
        try TestHost.run(["/bin/cp", "-a", TestHost.rootfs, path + "/rootfs"])
        var spec = Spec.defaultSpec()
        spec.process?.terminal = false
        spec.process?.args = arguments
        spec.root?.readonly = false
        edit(&spec)
        try write(spec, to: path)
        return path
    }

    func write(_ spec: Spec, to bundle: String) throws {
        try FileSystem.writeAtomically(Array(try OCIJSON.encode(spec)), to: bundle + "/config.json")
    }

    /// Runs `berth --root <ours> ARGS`.
    @discardableResult
    func berth(_ arguments: String..., input: String? = nil, timeout: Duration = .seconds(60)) throws -> ChildProcess.Output {
        try berth(arguments, input: input, timeout: timeout)
    }

    @discardableResult
    func berth(_ arguments: [String], input: String? = nil, timeout: Duration = .seconds(60)) throws -> ChildProcess.Output {
        try TestHost.run([TestHost.berthBinary, "--root", stateRoot] + arguments, input: input, timeout: timeout)
    }

    /// `berth run` of a bundle: (exit status, stdout, stderr).
    func run(_ bundle: String, id: String = "c-\(UUID().uuidString.prefix(8))") throws -> ChildProcess.Output {
        try berth("run", "--bundle", bundle, id)
    }

    func state(_ id: String) throws -> ContainerState {
        let output = try berth("state", id)
        return try ContainerState.decode(Data(output.standardOutput))
    }

    /// Waits until the container's init has exec'd `command` (its comm on the host). `start`
    /// returns once the init is released, which may be before its execve.
    func waitForInit(_ id: String, toRun command: String) throws {
        let pid = try #require(try state(id).pid)
        try waitUntil("the init of \(id) to exec \(command)") {
            (try? FileSystem.readString("/proc/\(pid)/comm"))?.trimmingCharacters(in: "\n") == command
        }
    }

    func cleanUp() {
        if let ids = try? FileSystem.listDirectory(stateRoot) {
            for id in ids { _ = try? berth("delete", "--force", id) }
        }
        _ = try? TestHost.run(["/bin/rm", "-rf", directory])
    }
}

extension ChildProcess.Output {
    var succeeded: Bool { status == .exited(0) }
    var out: String { standardOutputText }
    var err: String { standardErrorText.trimmingCharacters(in: " \n") }
}
