
extension Spec {
    /// Checks what the runtime needs before touching the system and throws the first
    /// problem as one line: `config.json: process.cwd: must be an absolute path, got "tmp"`.
    /// Fields berth cannot honour are refused ("not supported by berth"), never ignored.
    /// - Parameter forCreate: require `process` (create/run); false for e.g. `berth spec --check`
    ///   on a bundle used only for its mounts.
    public func validate(source: String = "config.json", forCreate: Bool = true) throws(OCIError) {
        try Validator(source: source).spec(self, forCreate: forCreate)
    }
}

extension Spec.Process {
    /// Validates a process.json for `exec`; paths are relative to the document ("args", "cwd").
    public func validate(source: String = "process.json") throws(OCIError) {
        try Validator(source: source).process(self, at: "")
    }
}

/// Sysctl keys the kernel scopes to a namespace, and which one.
public enum Sysctl {
    /// The namespace type ("network", "ipc", "uts") that owns `key`, or nil if the key is
    /// global to the host. Accepts both `net.ipv4.ip_forward` and `net/ipv4/ip_forward`.
    public static func namespace(for key: String) -> String? {
        let k = ASCII.replacing("/", with: ".", in: key)
        if k.hasPrefix("net.") { return "network" }
        if k.hasPrefix("fs.mqueue.") { return "ipc" }
        for prefix in ["kernel.msg", "kernel.shm", "kernel.sem"] where k.hasPrefix(prefix) { return "ipc" }
        if k == "kernel.hostname" || k == "kernel.domainname" { return "uts" }
        return nil
    }
}

struct Validator {
    let source: String

    func fail(_ path: String, _ message: String) -> OCIError {
        OCIError(source: source, path: path, message: message)
    }

    func unsupported(_ path: String) -> OCIError {
        fail(path, "not supported by berth")
    }

    func requireAbsolute(_ value: String, _ path: String) throws(OCIError) {
        if value.isEmpty { throw fail(path, "must not be empty") }
        if !value.hasPrefix("/") { throw fail(path, "must be an absolute path, got \(quoted(value))") }
        if value.contains("\0") { throw fail(path, "contains a NUL byte") }
    }

    func quoted(_ s: String) -> String { JSONWriter.quoted(s) }

    static func isPresent(_ s: String?) -> Bool { !(s ?? "").isEmpty }
    static func isPresent<T>(_ a: [T]?) -> Bool { !(a ?? []).isEmpty }
    static func isPresent<K, V>(_ m: [K: V]?) -> Bool { !(m ?? [:]).isEmpty }

    func spec(_ spec: Spec, forCreate: Bool) throws(OCIError) {
        try version(spec.ociVersion)
        guard let root = spec.root else { throw fail("root", "missing") }
        if root.path.isEmpty { throw fail("root.path", "must not be empty") }
        if let process = spec.process {
            try self.process(process, at: "process")
        } else if forCreate {
            throw fail("process", "missing")
        }
        let linux = spec.linux ?? Spec.Linux()
        for field in [("hostname", spec.hostname), ("domainname", spec.domainname)] {
            guard let value = field.1, !value.isEmpty else { continue }
            if !linux.hasNamespace("uts") {
                throw fail(field.0, "requires a uts namespace in linux.namespaces")
            }
            if value.utf8.count > 64 { throw fail(field.0, "longer than 64 bytes") }
            if value.contains("\0") { throw fail(field.0, "contains a NUL byte") }
        }
        for (i, mount) in (spec.mounts ?? []).enumerated() {
            try self.mount(mount, at: JSONPath.index("mounts", i))
        }
        if let hooks = spec.hooks {
            for (name, list) in hooks.all {
                for (i, hook) in list.enumerated() {
                    let path = JSONPath.index(JSONPath.join("hooks", name), i)
                    try requireAbsolute(hook.path, JSONPath.join(path, "path"))
                    if let t = hook.timeout, t <= 0 {
                        throw fail(JSONPath.join(path, "timeout"), "must be greater than zero, got \(t)")
                    }
                }
            }
        }
        for key in (spec.annotations ?? [:]).keys where key.isEmpty {
            throw fail("annotations", "keys must not be empty")
        }
        try self.linux(linux, at: "linux")
    }

    func version(_ v: String) throws(OCIError) {
        if v.isEmpty { throw fail("ociVersion", "missing") }
        // SemVer core: MAJOR.MINOR.PATCH, then optional -prerelease / +build.
        let core = v.split(whereSeparator: { $0 == "-" || $0 == "+" }).first.map(String.init) ?? ""
        let parts = core.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ ASCII.isDigits($0) }) else {
            throw fail("ociVersion", "\(quoted(v)) is not a SemVer version such as \"\(BerthOCI.ociVersion)\"")
        }
        if parts[0] != "1" {
            throw fail("ociVersion", "version \(v) is not supported (berth implements runtime-spec 1.x)")
        }
    }

    func process(_ p: Spec.Process, at base: String) throws(OCIError) {
        let path = { (key: String) in JSONPath.join(base, key) }
        let args = p.args ?? []
        if args.isEmpty { throw fail(path("args"), "must not be empty") }
        if args[0].isEmpty { throw fail(JSONPath.index(path("args"), 0), "must not be empty") }
        for (i, arg) in args.enumerated() where arg.contains("\0") {
            throw fail(JSONPath.index(path("args"), i), "contains a NUL byte")
        }
        if Self.isPresent(p.commandLine) { throw unsupported(path("commandLine")) }
        try requireAbsolute(p.cwd, path("cwd"))
        for (i, entry) in (p.env ?? []).enumerated() {
            let at = JSONPath.index(path("env"), i)
            guard let eq = entry.firstIndex(of: "="), eq != entry.startIndex else {
                throw fail(at, "expected KEY=value, got \(quoted(entry))")
            }
            if entry.contains("\0") { throw fail(at, "contains a NUL byte") }
        }
        if Self.isPresent(p.user.username) { throw unsupported(JSONPath.join(path("user"), "username")) }
        if let umask = p.user.umask, umask > 0o777 {
            throw fail(JSONPath.join(path("user"), "umask"), "must be at most 511 (0777), got \(umask)")
        }
        if let caps = p.capabilities {
            for (set, names) in caps.sets {
                for (i, name) in names.enumerated() where LinuxCapability.number(name) == nil {
                    let at = JSONPath.index(JSONPath.join(path("capabilities"), set), i)
                    throw fail(at, "unknown capability \(quoted(name))")
                }
            }
        }
        var seen: Set<String> = []
        for (i, rlimit) in (p.rlimits ?? []).enumerated() {
            let at = JSONPath.index(path("rlimits"), i)
            if LinuxRlimit.number(rlimit.type) == nil {
                throw fail(JSONPath.join(at, "type"), "unknown rlimit \(quoted(rlimit.type))")
            }
            if !seen.insert(rlimit.type).inserted {
                throw fail(JSONPath.join(at, "type"), "duplicate rlimit \(quoted(rlimit.type))")
            }
            if rlimit.soft > rlimit.hard {
                throw fail(at, "soft limit \(rlimit.soft) exceeds hard limit \(rlimit.hard)")
            }
        }
        if let adj = p.oomScoreAdj, !(-1000...1000).contains(adj) {
            throw fail(path("oomScoreAdj"), "must be between -1000 and 1000, got \(adj)")
        }
        if Self.isPresent(p.apparmorProfile) { throw unsupported(path("apparmorProfile")) }
        if Self.isPresent(p.selinuxLabel) { throw unsupported(path("selinuxLabel")) }
        if p.ioPriority != nil { throw unsupported(path("ioPriority")) }
        if p.scheduler != nil { throw unsupported(path("scheduler")) }
        if let a = p.execCPUAffinity, Self.isPresent(a.initial) || Self.isPresent(a.final) {
            throw unsupported(path("execCPUAffinity"))
        }
    }

    func mount(_ m: Spec.Mount, at base: String) throws(OCIError) {
        try requireAbsolute(m.destination, JSONPath.join(base, "destination"))
        let options: MountOptions
        do {
            options = try m.parsedOptions()
        } catch {
            throw fail(JSONPath.index(JSONPath.join(base, "options"), error.index), error.message)
        }
        if options.isBind {
            if !Self.isPresent(m.source) { throw fail(JSONPath.join(base, "source"), "required for a bind mount") }
        } else if !Self.isPresent(m.type) {
            throw fail(JSONPath.join(base, "type"), "required unless the options include bind or rbind")
        }
        if Self.isPresent(m.uidMappings) { throw unsupported(JSONPath.join(base, "uidMappings")) }
        if Self.isPresent(m.gidMappings) { throw unsupported(JSONPath.join(base, "gidMappings")) }
    }
}
