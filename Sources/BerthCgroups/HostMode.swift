import BerthLinux

/// How this machine mounts cgroups.
public enum CgroupMode: String, Codable, Sendable {
    /// cgroup2 only (normally at /sys/fs/cgroup).
    case unified
    /// v1 controllers plus a cgroup2 mount (normally /sys/fs/cgroup/unified).
    case hybrid
    /// v1 only.
    case legacy
}

/// One mounted cgroup hierarchy.
public struct Hierarchy: Codable, Sendable, Equatable {
    /// 1 or 2.
    public var version: Int
    public var mountPoint: String
    /// The mount's root inside the hierarchy (mountinfo field 4): "/" unless a sub-tree is mounted.
    public var mountRoot: String
    /// v1: the controllers bound to it ("name=systemd" for a named one). v2: the controllers
    /// its root offers (cgroup.controllers), which on a hybrid host excludes those bound to v1.
    public var controllers: [String]
    /// Berth's own cgroup in this hierarchy, from /proc/self/cgroup.
    public var ownPath: String?

    public init(version: Int, mountPoint: String, mountRoot: String = "/", controllers: [String], ownPath: String?) {
        self.version = version
        self.mountPoint = mountPoint
        self.mountRoot = mountRoot
        self.controllers = controllers
        self.ownPath = ownPath
    }

    /// The directory of a cgroup path (absolute within the hierarchy), or nil when the mount does
    /// not show that part of the hierarchy.
    public func directory(of cgroupPath: String) -> String? {
        let path = CgroupPath.normalized(cgroupPath)
        if mountRoot == "/" { return path == "/" ? mountPoint : mountPoint + path }
        if path == mountRoot { return mountPoint }
        if path.hasPrefix(mountRoot + "/") { return mountPoint + path.dropFirst(mountRoot.count) }
        return nil
    }

    /// True for controllers Berth calls by their v2 names: v1 "blkio" is "io", "cpuacct" is "cpu".
    public func drives(_ controller: String) -> Bool {
        if version == 2 { return controllers.contains(controller) }
        switch controller {
        case "io": return controllers.contains("blkio")
        default: return controllers.contains(controller)
        }
    }
}

/// The cgroup layout of this host, detected once at start-up.
public struct CgroupHost: Sendable, Equatable {
    public var mode: CgroupMode
    public var hierarchies: [Hierarchy]

    public init(mode: CgroupMode, hierarchies: [Hierarchy]) {
        self.mode = mode
        self.hierarchies = hierarchies
    }

    public var unified: Hierarchy? { hierarchies.first { $0.version == 2 } }
    public var legacy: [Hierarchy] { hierarchies.filter { $0.version == 1 } }

    /// Where a controller (v2 name: cpu, cpuset, memory, pids, io, hugetlb, devices, freezer...)
    /// is driven: its v1 hierarchy when mounted there, else the v2 hierarchy when offered there.
    public func hierarchy(for controller: String) -> Hierarchy? {
        if let v1 = legacy.first(where: { $0.drives(controller) }) { return v1 }
        if let v2 = unified, v2.drives(controller) { return v2 }
        return nil
    }

    static let knownV1Controllers: Set<String> = [
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "net_prio", "blkio",
        "perf_event", "hugetlb", "pids", "rdma", "misc", "debug",
    ]

    /// Reads /proc/self/mountinfo and /proc/self/cgroup. Only mounts at or below `mountRoot` count,
    /// so a test (or a VM) can point Berth at one part of the tree: "/sys/fs/cgroup/unified" sees a
    /// unified host.
    public static func detect(mountRoot: String = "/sys/fs/cgroup", procSelf: String = "/proc/self") throws(CgroupError) -> CgroupHost {
        let mountInfo: String, cgroupFile: String
        do {
            mountInfo = try FileSystem.readString(procSelf + "/mountinfo")
            cgroupFile = try FileSystem.readString(procSelf + "/cgroup")
        } catch {
            throw CgroupError("detect cgroups: \(error)")
        }
        let host = parse(mountInfo: mountInfo, procCgroup: cgroupFile, mountRoot: mountRoot) { mountPoint in
            let text = (try? FileSystem.readString(mountPoint + "/cgroup.controllers")) ?? ""
            return text.utf8.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\n") }).map { String(Substring($0)) }
        }
        if host.hierarchies.isEmpty { throw CgroupError("detect cgroups: no cgroup file system is mounted under \(mountRoot)") }
        return host
    }

    /// The pure part of `detect`, for tests.
    public static func parse(
        mountInfo: String, procCgroup: String, mountRoot: String = "/sys/fs/cgroup",
        v2Controllers: (String) -> [String]
    ) -> CgroupHost {
        // /proc/self/cgroup: "ID:controller,list:/path"; v2 is "0::/path".
        var ownV1: [Set<String>: String] = [:]
        var ownV2: String?
        // Split as bytes: these files are ASCII, and splitting Characters costs a grapheme
        // breaker per byte, a visible part of every `berth run`.
        for line in procCgroup.utf8.split(separator: UInt8(ascii: "\n")) {
            let parts = line.split(separator: UInt8(ascii: ":"), maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            if parts[0].elementsEqual("0".utf8) && parts[1].isEmpty {
                ownV2 = String(Substring(parts[2]))
            } else {
                ownV1[Set(parts[1].split(separator: UInt8(ascii: ",")).map { String(Substring($0)) })] = String(Substring(parts[2]))
            }
        }

        let base = CgroupPath.normalized(mountRoot)
        var v1: [Hierarchy] = []
        var v2: Hierarchy?
        var seen: Set<Set<String>> = []
        for line in mountInfo.utf8.split(separator: UInt8(ascii: "\n")) {
            // "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime shared:9 - cgroup cgroup rw,devices"
            let fields = line.split(separator: UInt8(ascii: " "))
            guard let dash = fields.firstIndex(where: { $0.elementsEqual("-".utf8) }), dash >= 5,
                  fields.count >= dash + 4 else { continue }
            let fsType = Substring(fields[dash + 1])
            guard fsType == "cgroup" || fsType == "cgroup2" else { continue }
            let root = unescapeMountField(Substring(fields[3]))
            let point = unescapeMountField(Substring(fields[4]))
            guard point == base || point.hasPrefix(base == "/" ? "/" : base + "/") else { continue }
            if fsType == "cgroup2" {
                // The first cgroup2 mount wins; later ones are bind mounts of the same tree.
                if v2 == nil {
                    v2 = Hierarchy(version: 2, mountPoint: point, mountRoot: root,
                                   controllers: v2Controllers(point), ownPath: ownV2)
                }
                continue
            }
            var controllers: [String] = []
            for option in fields[dash + 3].split(separator: UInt8(ascii: ",")).map(Substring.init) {
                if knownV1Controllers.contains(String(option)) || option.hasPrefix("name=") {
                    controllers.append(String(option))
                }
            }
            // A named hierarchy without controllers (name=systemd) belongs to the init system:
            // nothing to limit there, and Berth must not make cgroups in it.
            guard controllers.contains(where: { !$0.hasPrefix("name=") }) else { continue }
            let key = Set(controllers)
            // A hierarchy mounted twice (cpu,cpuacct plus symlinked names) counts once.
            guard !seen.contains(key) else { continue }
            seen.insert(key)
            v1.append(Hierarchy(version: 1, mountPoint: point, mountRoot: root,
                                controllers: controllers, ownPath: ownV1[key]))
        }

        // On a hybrid host cgroup.controllers of the v2 root lists only what v1 did not take, but
        // say so explicitly in case a controller is bound to both views.
        if var unified = v2, !v1.isEmpty {
            let bound = Set(v1.flatMap(\.controllers))
            unified.controllers.removeAll { bound.contains($0) || ($0 == "io" && bound.contains("blkio")) }
            v2 = unified
        }
        let mode: CgroupMode = v1.isEmpty ? .unified : (v2 == nil ? .legacy : .hybrid)
        return CgroupHost(mode: mode, hierarchies: v1 + (v2.map { [$0] } ?? []))
    }

    /// mountinfo escapes space, tab, newline and backslash as \ooo.
    static func unescapeMountField(_ field: Substring) -> String {
        guard field.contains("\\") else { return String(field) }
        var bytes: [UInt8] = []
        let utf8 = Array(field.utf8)
        var i = 0
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "\\"), i + 3 < utf8.count,
               let value = UInt8(String(decoding: utf8[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                bytes.append(value)
                i += 4
            } else {
                bytes.append(utf8[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Path rules for cgroupsPath.
public enum CgroupPath {
    /// "/a//b/" → "/a/b"; "" → "/".
    public static func normalized(_ path: String) -> String {
        let parts = path.split(separator: "/").map(String.init)
        return parts.isEmpty ? "/" : "/" + parts.joined(by: "/")
    }

    /// Splits a cgroupsPath into components, refusing "." and "..".
    public static func components(_ path: String, field: String = "linux.cgroupsPath") throws(CgroupError) -> [String] {
        let parts = path.split(separator: "/").map(String.init)
        for part in parts where part == ".." || part == "." {
            throw CgroupError(field: field, "\"\(path)\" has a \"\(part)\" component; cgroup paths may not leave their parent")
        }
        return parts
    }
}
