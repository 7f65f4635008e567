
extension Validator {
    static let propagationModes: Set<String> = [
        "shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable",
    ]

    func linux(_ l: Spec.Linux, at base: String) throws(OCIError) {
        let path = { (key: String) in JSONPath.join(base, key) }
        try namespaces(l, at: path("namespaces"))
        try mappings(l, base: base)
        if Self.isPresent(l.timeOffsets) {
            if !l.createsNamespace("time") { throw fail(path("timeOffsets"), "requires a new time namespace") }
            for (clock, offset) in l.timeOffsets ?? [:] {
                let at = JSONPath.join(path("timeOffsets"), clock)
                if clock != "monotonic" && clock != "boottime" {
                    throw fail(at, "unknown clock (expected monotonic or boottime)")
                }
                if let ns = offset.nanosecs, ns >= 1_000_000_000 {
                    throw fail(JSONPath.join(at, "nanosecs"), "must be less than 1000000000, got \(ns)")
                }
            }
        }
        for (i, device) in (l.devices ?? []).enumerated() {
            try self.device(device, at: JSONPath.index(path("devices"), i))
        }
        if Self.isPresent(l.netDevices) { throw unsupported(path("netDevices")) }
        if let cg = l.cgroupsPath, cg.split(separator: "/").contains("..") {
            throw fail(path("cgroupsPath"), "must not contain \"..\"")
        }
        if let r = l.resources { try resources(r, at: path("resources")) }
        if let p = l.rootfsPropagation, !p.isEmpty, !Self.propagationModes.contains(p) {
            throw fail(path("rootfsPropagation"),
                       "unknown propagation \(quoted(p)) (expected one of \(Self.propagationModes.sorted().joined(separator: ", ")))")
        }
        if let s = l.seccomp { try seccomp(s, at: path("seccomp")) }
        for key in (l.sysctl ?? [:]).keys.sorted() {
            let at = JSONPath.join(path("sysctl"), key)
            guard let owner = Sysctl.namespace(for: key) else {
                throw fail(at, "not namespaced; berth will not change it for the whole host")
            }
            if !l.hasNamespace(owner) {
                throw fail(at, "requires a\(owner == "ipc" ? "n" : "") \(owner) namespace in linux.namespaces")
            }
        }
        for (name, list) in [("maskedPaths", l.maskedPaths), ("readonlyPaths", l.readonlyPaths)] {
            for (i, p) in (list ?? []).enumerated() {
                try requireAbsolute(p, JSONPath.index(path(name), i))
            }
        }
        if Self.isPresent(l.mountLabel) { throw unsupported(path("mountLabel")) }
        if let rdt = l.intelRdt, !rdt.isEmpty { throw unsupported(path("intelRdt")) }
        if let p = l.personality {
            let at = JSONPath.join(path("personality"), "domain")
            switch p.domain {
            case "LINUX": break
            case "LINUX32": throw fail(at, "\"LINUX32\" is not supported by berth")
            default: throw fail(at, "unknown domain \(quoted(p.domain)) (expected LINUX or LINUX32)")
            }
            if Self.isPresent(p.flags) { throw unsupported(JSONPath.join(path("personality"), "flags")) }
        }
    }

    func namespaces(_ l: Spec.Linux, at base: String) throws(OCIError) {
        var seen: Set<String> = []
        for (i, ns) in (l.namespaces ?? []).enumerated() {
            let at = JSONPath.index(base, i)
            if LinuxNamespace.cloneFlags[ns.type] == nil {
                throw fail(JSONPath.join(at, "type"),
                           "unknown namespace type \(quoted(ns.type)) (expected one of \(LinuxNamespace.types.joined(separator: ", ")))")
            }
            if !seen.insert(ns.type).inserted {
                throw fail(JSONPath.join(at, "type"), "duplicate namespace \(quoted(ns.type))")
            }
            if let p = ns.path, !p.isEmpty {
                try requireAbsolute(p, JSONPath.join(at, "path"))
            }
        }
    }

    func mappings(_ l: Spec.Linux, base: String) throws(OCIError) {
        let createsUser = l.createsNamespace("user")
        for (name, list) in [("uidMappings", l.uidMappings), ("gidMappings", l.gidMappings)] {
            let at = JSONPath.join(base, name)
            let maps = list ?? []
            if createsUser && maps.isEmpty {
                throw fail(at, "required when creating a user namespace")
            }
            if !createsUser && !maps.isEmpty {
                throw fail(at, "only allowed when creating a user namespace (add {\"type\": \"user\"} to linux.namespaces)")
            }
            for (i, m) in maps.enumerated() where m.size == 0 {
                throw fail(JSONPath.join(JSONPath.index(at, i), "size"), "must be greater than zero")
            }
        }
    }

    func device(_ d: Spec.Device, at base: String) throws(OCIError) {
        let path = { (key: String) in JSONPath.join(base, key) }
        guard ["c", "b", "u", "p"].contains(d.type) else {
            throw fail(path("type"), "unknown device type \(quoted(d.type)) (expected c, b, u or p)")
        }
        try requireAbsolute(d.path, path("path"))
        if d.type != "p" {
            if d.major == nil { throw fail(path("major"), "required for a \(quoted(d.type)) device") }
            if d.minor == nil { throw fail(path("minor"), "required for a \(quoted(d.type)) device") }
        }
        for (name, v) in [("major", d.major), ("minor", d.minor)] {
            if let v, v < 0 { throw fail(path(name), "must not be negative, got \(v)") }
        }
        if let mode = d.fileMode, mode > 0o7777 {
            throw fail(path("fileMode"), "must be permission bits only (at most 4095, 07777), got \(mode)")
        }
    }

    func seccomp(_ s: Spec.Seccomp, at base: String) throws(OCIError) {
        let path = { (key: String) in JSONPath.join(base, key) }
        if s.defaultAction.isEmpty { throw fail(path("defaultAction"), "missing") }
        if SeccompTables.actions[s.defaultAction] == nil {
            throw fail(path("defaultAction"), "unknown action \(quoted(s.defaultAction))")
        }
        if s.defaultAction == "SCMP_ACT_NOTIFY" {
            throw fail(path("defaultAction"), "SCMP_ACT_NOTIFY cannot be the default action")
        }
        if s.defaultErrnoRet != nil && !SeccompTables.actionsWithErrno.contains(s.defaultAction) {
            throw fail(path("defaultErrnoRet"), "only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE")
        }
        for (i, arch) in (s.architectures ?? []).enumerated() where SeccompTables.architectures[arch] == nil {
            throw fail(JSONPath.index(path("architectures"), i), "unknown architecture \(quoted(arch))")
        }
        for (i, flag) in (s.flags ?? []).enumerated() where SeccompTables.flags[flag] == nil {
            throw fail(JSONPath.index(path("flags"), i), "unknown flag \(quoted(flag))")
        }
        if Self.isPresent(s.listenerPath) { throw unsupported(path("listenerPath")) }
        if Self.isPresent(s.listenerMetadata) { throw unsupported(path("listenerMetadata")) }
        for (i, rule) in (s.syscalls ?? []).enumerated() {
            let at = JSONPath.index(path("syscalls"), i)
            if rule.names.isEmpty { throw fail(JSONPath.join(at, "names"), "must not be empty") }
            for (j, name) in rule.names.enumerated() where name.isEmpty {
                throw fail(JSONPath.index(JSONPath.join(at, "names"), j), "must not be empty")
            }
            if SeccompTables.actions[rule.action] == nil {
                throw fail(JSONPath.join(at, "action"), "unknown action \(quoted(rule.action))")
            }
            if rule.action == "SCMP_ACT_NOTIFY" {
                throw fail(JSONPath.join(at, "action"), "SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath, which berth does not support")
            }
            if rule.errnoRet != nil && !SeccompTables.actionsWithErrno.contains(rule.action) {
                throw fail(JSONPath.join(at, "errnoRet"), "only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE")
            }
            for (j, arg) in (rule.args ?? []).enumerated() {
                let argAt = JSONPath.index(JSONPath.join(at, "args"), j)
                if arg.index >= SeccompTables.maxArgs {
                    throw fail(JSONPath.join(argAt, "index"), "must be less than \(SeccompTables.maxArgs), got \(arg.index)")
                }
                if SeccompTables.operators[arg.op] == nil {
                    throw fail(JSONPath.join(argAt, "op"), "unknown operator \(quoted(arg.op))")
                }
            }
        }
    }
}
