import BerthLinux
import BerthOCI
#if canImport(Glibc)
import Glibc
#endif

/// Gives a container the GPUs its annotations ask for: their device nodes and the vendor's
/// control nodes as linux.devices, allow rules for them, and the CUDA/NVIDIA environment.
///
/// - `org.berth.gpus`: "all", or GPU indices as `berth gpus` lists them ("0,2"); "" or "none"
///   asks for nothing.
/// - `org.berth.gpu-root`: the discovery root (default "/"), for tests and chroot-style hosts.
///   It grants nothing a config author could not already write into linux.devices.
public enum GPUInjection {
    public static let gpusAnnotation = "org.berth.gpus"
    public static let rootAnnotation = "org.berth.gpu-root"

    /// True when the spec's annotations ask for at least one GPU.
    public static func isRequested(by spec: Spec) -> Bool {
        guard let request = spec.annotations?[gpusAnnotation] else { return false }
        let wanted = request.filter { $0 != " " }
        return !wanted.isEmpty && wanted != "none"
    }

    /// The spec with the requested GPUs added; the spec unchanged when it asks for none.
    public static func apply(to spec: Spec, log: RuntimeLog = .silent) throws -> Spec {
        guard isRequested(by: spec), let request = spec.annotations?[gpusAnnotation] else { return spec }
        let field = "config.json: annotations.\(gpusAnnotation)"

        let root = spec.annotations?[rootAnnotation] ?? "/"
        guard root.hasPrefix("/"), FileSystem.isDirectory(root) else {
            throw RuntimeError("config.json: annotations.\(rootAnnotation): \"\(root)\" is not an absolute path to a directory")
        }
        let inventory = GPUInventory.scan(root: root)
        if let note = inventory.note { log.debug(note) }
        let selected = try select(request, from: inventory, field: field)

        let base = root == "/" ? "" : (root.hasSuffix("/") ? String(root.dropLast()) : root)
        var paths: [String] = []
        for gpu in selected {
            for path in gpu.devicePaths {
                guard let node = DeviceNode.lookup(base + path), node.isCharacter else {
                    throw RuntimeError("\(field): GPU \(gpu.index): \(base + path) is not a character device")
                }
                paths.append(path)
            }
        }
        let vendors = Set(selected.map(\.vendor))
        let controls = (vendors.contains(.nvidia) ? GPUInventory.nvidiaControlNodes : [])
            + (vendors.contains(.amd) ? GPUInventory.amdControlNodes : [])
        paths += controls.filter { DeviceNode.lookup(base + $0)?.isCharacter == true }

        var result = spec
        var linux = result.linux ?? Spec.Linux()
        var devices = linux.devices ?? []
        var rules: [Spec.Resources.DeviceRule] = []
        for path in paths where !devices.contains(where: { $0.path == path }) {
            // Checked just above; a node that vanished since is refused rather than skipped.
            guard let node = DeviceNode.lookup(base + path) else {
                throw RuntimeError("\(field): \(base + path): \(Errno.current)")
            }
            devices.append(Spec.Device(type: "c", path: path, major: Int64(node.major), minor: Int64(node.minor),
                                       fileMode: node.permissions & 0o777, uid: 0, gid: 0))
            rules.append(Spec.Resources.DeviceRule(allow: true, type: "c", major: Int64(node.major), minor: Int64(node.minor), access: "rwm"))
        }
        linux.devices = devices
        // Without a device policy every device is already allowed; rules would only start one.
        if var resources = linux.resources, let existing = resources.devices {
            resources.devices = existing + rules
            linux.resources = resources
        }
        result.linux = linux

        let nvidia = selected.filter { $0.vendor == .nvidia }
        if !nvidia.isEmpty, var process = result.process {
            let visible = nvidia.map { $0.uuid ?? String($0.index) }.joined(separator: ",")
            var env = (process.env ?? []).filter {
                !$0.hasPrefix("NVIDIA_VISIBLE_DEVICES=") && !$0.hasPrefix("CUDA_VISIBLE_DEVICES=")
            }
            env += ["NVIDIA_VISIBLE_DEVICES=" + visible, "CUDA_VISIBLE_DEVICES=" + visible]
            process.env = env
            result.process = process
        }
        return result
    }

    /// The GPUs named by the annotation's value ("all" or indices), in the order asked, once each.
    static func select(_ request: String, from inventory: GPUInventory.Result, field: String) throws -> [GPU] {
        let wanted = request.filter { $0 != " " }
        let gpus = inventory.gpus
        if wanted == "all" {
            guard !gpus.isEmpty else {
                throw RuntimeError("\(field): \"all\" asked for, but \(inventory.note ?? "no GPUs were found")")
            }
            return gpus
        }
        var selected: [GPU] = []
        for part in wanted.split(separator: ",", omittingEmptySubsequences: false) {
            guard ASCII.isDigits(part), let index = Int(part) else {
                throw RuntimeError("\(field): \"\(request)\" is not \"all\" or a comma-separated list of GPU indices")
            }
            guard index < gpus.count else {
                throw RuntimeError("\(field): GPU \(index) does not exist (found \(gpus.count))")
            }
            if !selected.contains(where: { $0.index == index }) { selected.append(gpus[index]) }
        }
        return selected
    }
}
