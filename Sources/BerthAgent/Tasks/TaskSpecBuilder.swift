import BerthAPI
import BerthLinux
import BerthNetwork
import BerthOCI
import BerthRuntime
#if canImport(Glibc)
import Glibc
#endif

/// Turns a task definition and its allocation into the OCI config of one run. Plain tasks run on
/// the host's filesystem; container tasks start from the config `berth image bundle` wrote.
/// Both get the same isolation: their own pid, mount, ipc and uts namespaces and cgroup limits.
struct TaskSpecBuilder {
    var definition: TaskDefinition
    var allocation: TaskAllocation
    var layout: TaskLayout
    var run: Int
    /// berthd's cgroup parent for tasks (relative: it nests under berthd's own cgroup).
    var cgroupParent: String
    /// Extra environment the agent gives every task (STATSD_UDP_HOST and the like).
    var agentEnvironment: [String: String] = [:]
    /// The task's network namespace and files (none and bridge modes); nil in host mode.
    var network: NetworkAttachment?

    /// Capabilities a task's root user keeps (Docker's default set): enough to run ordinary
    /// services, nothing that reaches the host's kernel configuration.
    static let taskCapabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ]

    /// `imageSpec` is the config written by the image bundle for a container task; nil for a
    /// plain task.
    func build(imageSpec: Spec?) throws(APIError) -> Spec {
        var spec = imageSpec ?? plainBase()
        var process = spec.process ?? Spec.defaultSpec().process!
        process.terminal = false
        if let args = definition.args {
            process.args = args
        } else if let cmd = definition.cmd {
            process.args = ["/bin/sh", "-c", cmd]
        }
        guard let args = process.args, !args.isEmpty else {
            throw APIError.badRequest("args", "the task has no command and its image names none (set cmd or args)")
        }
        process.env = environment(base: process.env ?? [])
        if imageSpec == nil { process.cwd = layout.sandbox }
        if let user = definition.user { process.user = try resolveUser(user, imageRoot: imageSpec == nil ? "/" : rootfsPath(spec)) }
        let caps = Self.taskCapabilities
        process.capabilities = .init(bounding: caps, effective: caps, permitted: caps)
        process.noNewPrivileges = true
        spec.process = process

        spec.hostname = hostname()
        var mounts = spec.mounts ?? []
        if imageSpec != nil {
            mounts.append(.init(destination: "/mnt/sandbox", type: "bind", source: layout.sandbox, options: ["rbind", "rw"]))
        }
        if let hosts = network?.hostsPath {
            mounts.append(.init(destination: "/etc/hosts", type: "bind", source: hosts, options: ["rbind", "ro"]))
        }
        if let resolv = network?.resolvConfPath {
            mounts.append(.init(destination: "/etc/resolv.conf", type: "bind", source: resolv, options: ["rbind", "ro"]))
        }
        spec.mounts = mounts

        var linux = spec.linux ?? .init()
        linux.namespaces = namespaces()
        linux.cgroupsPath = cgroupParent + "/" + layout.containerID(run)
        linux.resources = resources(base: linux.resources)
        spec.linux = linux

        var annotations = spec.annotations ?? [:]
        annotations["org.berth.task-id"] = definition.id
        annotations["org.berth.run"] = String(run)
        if !allocation.gpus.isEmpty {
            annotations[GPUInjection.gpusAnnotation] = allocation.gpus.map(String.init).joined(separator: ",")
        }
        spec.annotations = annotations
        return spec
    }

    /// A plain task: the host's root, a fresh /proc for its pid namespace, nothing masked that
    /// the host does not mask.
    private func plainBase() -> Spec {
        var spec = Spec.defaultSpec()
        spec.root = .init(path: "/", readonly: false)
        spec.mounts = [.init(destination: "/proc", type: "proc", source: "proc")]
        spec.linux?.maskedPaths = []
        spec.linux?.readonlyPaths = []
        return spec
    }

    private func rootfsPath(_ spec: Spec) -> String {
        let path = spec.root?.path ?? "rootfs"
        return path.hasPrefix("/") ? path : layout.bundle(run) + "/" + path
    }

    private func namespaces() -> [Spec.Namespace] {
        var namespaces = ["pid", "mount", "ipc", "uts"].map { Spec.Namespace(type: $0) }
        // The network namespace is a file berthd made (shared by a task group), joined by path.
        if let path = network?.namespacePath { namespaces.append(Spec.Namespace(type: "network", path: path)) }
        return namespaces
    }

    /// PORT0.., PORT_NAME, the task's identity, then the task's own variables (which win).
    private func environment(base: [String]) -> [String] {
        var values: [(String, String)] = base.compactMap { entry in
            guard let eq = entry.firstIndex(of: "=") else { return nil }
            return (String(entry[..<eq]), String(entry[entry.index(after: eq)...]))
        }
        func set(_ key: String, _ value: String) {
            values.removeAll { $0.0 == key }
            values.append((key, value))
        }
        if !values.contains(where: { $0.0 == "PATH" }) {
            set("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        }
        set("BERTH_TASK_ID", definition.id)
        set("BERTH_SANDBOX", definition.container == nil ? layout.sandbox : "/mnt/sandbox")
        set("HOST", hostNameOfMachine())
        if let address = network?.primaryAddress ?? TaskNetwork.nodeAddress() { set("BERTH_IP", address) }
        for (index, port) in allocation.hostPorts.enumerated() {
            set("PORT\(index)", String(port))
            if index == 0 { set("PORT", String(port)) }
            if index < definition.network.portMappings.count,
               let name = definition.network.portMappings[index].name {
                set("PORT_" + name.uppercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined(), String(port))
            }
        }
        for (key, value) in agentEnvironment.sorted(by: { $0.key < $1.key }) { set(key, value) }
        for (key, value) in definition.env.sorted(by: { $0.key < $1.key }) { set(key, value) }
        return values.map { "\($0.0)=\($0.1)" }
    }

    /// cpus as CFS quota over a 100 ms period and as weight (shares); mem as the memory limit.
    private func resources(base: Spec.Resources?) -> Spec.Resources {
        var resources = base ?? .init()
        let cpus = definition.resources.cpus
        // The kernel's smallest quota is 1 ms per period: a smaller share gets that (as Mesos's
        // minimum of 0.01 CPUs does).
        let quota = max(1000, Int64((cpus * 100_000).rounded()))
        resources.cpu = .init(shares: UInt64(max(2, (cpus * 1024).rounded())), quota: quota, period: 100_000)
        let bytes = Int64(definition.resources.mem * 1024 * 1024)
        resources.memory = .init(limit: bytes, swap: bytes)
        if resources.devices == nil {
            resources.devices = [.init(allow: false, access: "rwm")]
        }
        return resources
    }

    /// The task id as a hostname: letters, digits and '-', at most 63 characters.
    func hostname() -> String {
        let cleaned = definition.id.map { $0.isLetter || $0.isNumber ? String($0) : "-" }.joined()
        let trimmed = String(cleaned.prefix(63))
        return trimmed.isEmpty ? "task" : trimmed
    }

    private func hostNameOfMachine() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        return String(cString: buffer)
    }

    /// "uid", "uid:gid" or a user name, looked up in the task's own /etc/passwd (the host's for
    /// a plain task, the image's for a container task).
    private func resolveUser(_ user: String, imageRoot: String) throws(APIError) -> Spec.User {
        let parts = user.split(separator: ":", maxSplits: 1).map(String.init)
        if let uid = UInt32(parts[0]) {
            let gid = parts.count > 1 ? UInt32(parts[1]) : uid
            guard let gid else { throw APIError.badRequest("user", "\"\(user)\": the group must be a number") }
            return .init(uid: uid, gid: gid)
        }
        let bytes = try? FileSystem.readFile(inRoot: imageRoot, "etc/passwd", limit: 1 << 20)
        let passwd = String(decoding: bytes ?? [], as: UTF8.self)
        for line in passwd.split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            if fields.count >= 4, fields[0] == parts[0], let uid = UInt32(fields[2]), let gid = UInt32(fields[3]) {
                return .init(uid: uid, gid: parts.count > 1 ? UInt32(parts[1]) ?? gid : gid)
            }
        }
        throw APIError.badRequest("user", "no user \"\(parts[0])\" in the task's /etc/passwd")
    }
}
