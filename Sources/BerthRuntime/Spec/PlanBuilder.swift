import BerthLinux
import BerthOCI
#if canImport(Glibc)
import Glibc
#endif

/// Turns a validated OCI spec into the flat plan the C child path executes.
struct PlanBuilder {
    var spec: Spec
    var bundle: String
    /// Where the container's cgroup lives on the host, per hierarchy: (directory name under
    /// /sys/fs/cgroup inside the container, or "" for a unified host; host path).
    var cgroupDirectories: [(name: String, hostPath: String)] = []

    /// The default device nodes every container with its own /dev gets.
    static let defaultDevices: [(path: String, major: UInt32, minor: UInt32)] = [
        ("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7),
        ("/dev/random", 1, 8), ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0),
    ]

    static let propagation: [String: UInt] = [
        "shared": MountFlag.shared, "slave": MountFlag.slave, "private": MountFlag.private,
        "unbindable": MountFlag.unbindable,
        "rshared": MountFlag.shared | MountFlag.rec, "rslave": MountFlag.slave | MountFlag.rec,
        "rprivate": MountFlag.private | MountFlag.rec, "runbindable": MountFlag.unbindable | MountFlag.rec,
    ]

    /// The container's root filesystem as an absolute host path.
    func rootfsPath() throws -> String {
        guard let root = spec.root else { throw RuntimeError("config.json: root: missing") }
        let joined = root.path.hasPrefix("/") ? root.path : bundle + "/" + root.path
        guard let resolved = realpath(joined, nil) else {
            throw RuntimeError("config.json: root.path: \(joined): \(Errno.current)")
        }
        defer { free(resolved) }
        let path = String(cString: resolved)
        guard FileSystem.isDirectory(path) else { throw RuntimeError("config.json: root.path: \(path) is not a directory") }
        return path
    }

    func build() throws -> ChildPlan {
        var plan = ChildPlan()
        let linux = spec.linux ?? Spec.Linux()
        plan.rootfs = try rootfsPath()
        plan.rootfsReadonly = spec.root?.readonly ?? false
        if let propagation = linux.rootfsPropagation, !propagation.isEmpty {
            guard let flags = Self.propagation[propagation] else {
                throw RuntimeError("config.json: linux.rootfsPropagation: unknown propagation \"\(propagation)\"")
            }
            plan.rootfsPropagation = flags
        }
        plan.namespaces = try namespaces(linux)
        guard plan.hasNamespace(Int32(CLONE_NEWNS)) else {
            throw RuntimeError("config.json: linux.namespaces: berth needs a mount namespace (add {\"type\": \"mount\"})")
        }
        let userNamespace = plan.createsNamespace(Int32(CLONE_NEWUSER))
        plan.waitForIDMaps = userNamespace
        plan.hostname = spec.hostname.flatMap { $0.isEmpty ? nil : $0 }
        plan.domainname = spec.domainname.flatMap { $0.isEmpty ? nil : $0 }

        for (index, mount) in (spec.mounts ?? []).enumerated() {
            plan.mounts += try mounts(for: mount, field: "mounts[\(index)]")
        }
        let ownDev = (spec.mounts ?? []).contains { $0.destination == "/dev" && $0.type != "bind" && !($0.options ?? []).contains(where: { $0 == "bind" || $0 == "rbind" }) }
        if ownDev {
            plan.devices = Self.defaultDevices.map {
                ChildPlan.Device(path: $0.path, mode: S_IFCHR | 0o666, major: $0.major, minor: $0.minor, uid: 0, gid: 0, bindFromHost: userNamespace, field: "default device \($0.path)")
            }
            plan.symlinks = [("/proc/self/fd", "/dev/fd"), ("/proc/self/fd/0", "/dev/stdin"),
                             ("/proc/self/fd/1", "/dev/stdout"), ("/proc/self/fd/2", "/dev/stderr")]
            if (spec.mounts ?? []).contains(where: { $0.destination == "/dev/pts" }) {
                plan.symlinks.append(("pts/ptmx", "/dev/ptmx"))
            }
        }
        for (index, device) in (linux.devices ?? []).enumerated() {
            let field = "linux.devices[\(index)]"
            guard ownDev || plan.rootfs != "/" else {
                throw RuntimeError("config.json: \(field): the container shares the host's /dev; mount a tmpfs on /dev to create devices")
            }
            plan.devices.removeAll { $0.path == device.path }
            plan.devices.append(try self.device(device, field: field, userNamespace: userNamespace))
        }
        plan.maskedPaths = linux.maskedPaths ?? []
        plan.readonlyPaths = linux.readonlyPaths ?? []
        plan.sysctls = (linux.sysctl ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value, "linux.sysctl.\($0.key)") }

        let hooks = spec.hooks
        plan.runCreateHooks = !((hooks?.prestart ?? []) + (hooks?.createRuntime ?? []) + (hooks?.createContainer ?? [])).isEmpty
        plan.startHooks = (hooks?.startContainer ?? []).enumerated().map { index, hook in
            ChildPlan.Hook(hook, field: "hooks.startContainer[\(index)]")
        }
        guard let process = spec.process else { throw RuntimeError("config.json: process: missing") }
        plan.process = try Self.process(process, linux: linux)
        return plan
    }

    private func namespaces(_ linux: Spec.Linux) throws -> [ChildPlan.Namespace] {
        try (linux.namespaces ?? []).enumerated().map { index, namespace in
            guard let flag = LinuxNamespace.cloneFlags[namespace.type] else {
                throw RuntimeError("config.json: linux.namespaces[\(index)].type: unknown namespace \"\(namespace.type)\"")
            }
            let path = namespace.path.flatMap { $0.isEmpty ? nil : $0 }
            if let path, !FileSystem.exists(path) {
                throw RuntimeError("config.json: linux.namespaces[\(index)].path: \(path): \(Errno.noEntry)")
            }
            return ChildPlan.Namespace(type: Int32(flag), path: path, field: "linux.namespaces[\(index)]")
        }
    }

    private func mounts(for mount: Spec.Mount, field: String) throws -> [ChildPlan.Mount] {
        guard mount.destination.hasPrefix("/") else {
            throw RuntimeError("config.json: \(field).destination: \"\(mount.destination)\" is not absolute")
        }
        let options: MountOptions
        do {
            options = try MountOptions.parse(mount.options ?? [])
        } catch {
            throw RuntimeError("config.json: \(field).options[\(error.index)]: \(error.message)")
        }
        if options.hasRecursiveAttrs {
            throw RuntimeError("config.json: \(field).options: recursive attributes (rro, rnosuid, ...) are not supported by berth")
        }
        let isBind = mount.type == "bind" || options.isBind
        let flags = options.flags & ~(MountFlag.bind | MountFlag.rec)
        if mount.type == "cgroup" || mount.type == "cgroup2" {
            return cgroupMounts(at: mount.destination, flags: flags, field: field)
        }
        var source = mount.source ?? ""
        var targetIsFile = false
        if isBind {
            guard !source.isEmpty else { throw RuntimeError("config.json: \(field).source: a bind mount needs a source") }
            if !source.hasPrefix("/") { source = bundle + "/" + source }
            var info = stat()
            guard stat(source, &info) == 0 else {
                throw RuntimeError("config.json: \(field).source: \(source): \(Errno.current)")
            }
            targetIsFile = (info.st_mode & S_IFMT) != S_IFDIR
        }
        return [ChildPlan.Mount(
            source: source.isEmpty ? (mount.type ?? "none") : source, target: mount.destination,
            fstype: isBind ? nil : (mount.type ?? "none"), flags: flags,
            propagation: options.propagation.last ?? 0, data: options.data.isEmpty ? nil : options.data,
            bind: isBind ? (options.isRecursiveBind ? 2 : 1) : 0, targetIsFile: targetIsFile, field: field)]
    }

    /// A `cgroup` mount shows the container its own cgroups: a tmpfs with one bind per
    /// hierarchy (v1 or hybrid), or one bind of its directory (unified).
    private func cgroupMounts(at destination: String, flags: UInt, field: String) -> [ChildPlan.Mount] {
        let readonly = flags & MountFlag.rdonly
        let nodevs = flags & (MountFlag.nosuid | MountFlag.nodev | MountFlag.noexec)
        if cgroupDirectories.count == 1, cgroupDirectories[0].name.isEmpty {
            return [ChildPlan.Mount(source: cgroupDirectories[0].hostPath, target: destination, fstype: nil, flags: nodevs | readonly, propagation: 0, data: nil, bind: 1, targetIsFile: false, field: field, needsCgroup: true)]
        }
        var result = [ChildPlan.Mount(source: "tmpfs", target: destination, fstype: "tmpfs", flags: nodevs, propagation: 0, data: "mode=755", bind: 0, targetIsFile: false, field: field)]
        for directory in cgroupDirectories {
            result.append(ChildPlan.Mount(source: directory.hostPath, target: destination + "/" + directory.name, fstype: nil, flags: nodevs | readonly, propagation: 0, data: nil, bind: 1, targetIsFile: false, field: field, needsCgroup: true))
        }
        return result
    }

    private func device(_ device: Spec.Device, field: String, userNamespace: Bool) throws -> ChildPlan.Device {
        let kinds: [String: mode_t] = ["c": S_IFCHR, "u": S_IFCHR, "b": S_IFBLK, "p": S_IFIFO]
        guard let kind = kinds[device.type] else {
            throw RuntimeError("config.json: \(field).type: \"\(device.type)\" is not c, b, u or p")
        }
        return ChildPlan.Device(
            path: device.path, mode: kind | mode_t(device.fileMode ?? 0o666) & 0o7777,
            major: UInt32(device.major ?? 0), minor: UInt32(device.minor ?? 0),
            uid: device.uid ?? 0, gid: device.gid ?? 0,
            bindFromHost: userNamespace && kind != S_IFIFO, field: field)
    }

    /// The process part, shared by create and exec.
    static func process(_ process: Spec.Process, linux: Spec.Linux) throws -> ChildPlan.Process {
        var result = ChildPlan.Process()
        guard let args = process.args, !args.isEmpty else {
            throw RuntimeError("config.json: process.args: must name the program to run")
        }
        result.arguments = args
        result.environment = process.env ?? []
        result.cwd = process.cwd
        result.uid = process.user.uid
        result.gid = process.user.gid
        result.additionalGids = process.user.additionalGids ?? []
        result.umask = process.user.umask.map { mode_t($0) }
        result.rlimits = try (process.rlimits ?? []).enumerated().map { index, limit in
            guard let resource = LinuxRlimit.number(limit.type) else {
                throw RuntimeError("config.json: process.rlimits[\(index)].type: unknown rlimit \"\(limit.type)\"")
            }
            return ChildPlan.Rlimit(resource: resource, soft: limit.soft, hard: limit.hard, field: "process.rlimits[\(index)]")
        }
        if let capabilities = process.capabilities {
            var sets = ChildPlan.Capabilities()
            sets.bounding = LinuxCapability.mask(capabilities.bounding ?? [])
            sets.effective = LinuxCapability.mask(capabilities.effective ?? [])
            sets.permitted = LinuxCapability.mask(capabilities.permitted ?? [])
            sets.inheritable = LinuxCapability.mask(capabilities.inheritable ?? [])
            sets.ambient = LinuxCapability.mask(capabilities.ambient ?? [])
            result.capabilities = sets
        }
        result.noNewPrivileges = process.noNewPrivileges ?? false
        if let seccomp = linux.seccomp {
            let compiled = try SeccompFilter.compile(seccomp)
            result.seccompFilter = compiled.program
            result.seccompFlags = compiled.flags
        }
        result.terminal = process.terminal ?? false
        return result
    }
}

extension ChildPlan.Hook {
    init(_ hook: Spec.Hook, field: String) {
        self.init(path: hook.path, arguments: hook.args ?? [hook.path], environment: hook.env ?? [],
                  timeoutSeconds: Int32(hook.timeout ?? 0), field: field)
    }
}
