import BerthLinux
import BerthOCI
#if canImport(Glibc)
import Glibc
#endif

/// Runs OCI hooks with the container's state on stdin, each within its timeout.
struct HookRunner {
    var hooks: Spec.Hooks?
    var state: [UInt8]

    enum Stage: String {
        case prestart, createRuntime, createContainer, poststart, poststop
    }

    /// Runs every hook of `stage` in order; the first failure throws, naming the hook.
    /// createContainer hooks run inside the container's mount namespace (resolved in ours).
    func run(_ stage: Stage, containerNamespacesOf containerPID: pid_t = 0, types: Int32 = 0) throws {
        for (index, hook) in list(stage).enumerated() {
            let field = "hooks.\(stage.rawValue)[\(index)]"
            var child = ChildProcess(path: hook.path, arguments: hook.args ?? [hook.path], environment: hook.env ?? [])
            child.input = state
            child.timeout = hook.timeout.map { .seconds($0) }
            if stage == .createContainer, containerPID > 0 {
                child.joinNamespaces = (containerPID, types)
            }
            let output: ChildProcess.Output
            do {
                output = try child.run()
            } catch let error as ChildProcess.Failure {
                throw RuntimeError("\(field): \(error)")
            } catch {
                throw RuntimeError("\(field): \(hook.path): \(error)")
            }
            guard output.status == .exited(0) else {
                let detail = output.standardErrorText.split(separator: "\n").last.map { ": \($0)" } ?? ""
                throw RuntimeError("\(field): \(hook.path) \(output.status)\(detail)")
            }
        }
    }

    private func list(_ stage: Stage) -> [Spec.Hook] {
        switch stage {
        case .prestart: return hooks?.prestart ?? []
        case .createRuntime: return hooks?.createRuntime ?? []
        case .createContainer: return hooks?.createContainer ?? []
        case .poststart: return hooks?.poststart ?? []
        case .poststop: return hooks?.poststop ?? []
        }
    }
}
