import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// One container's cgroup across every hierarchy of the host. Store it in the container's state
/// JSON: it says where the cgroup is and exactly which directories Berth made, so a later
/// `destroy` (even from another berth process) removes those and nothing else.
public struct Cgroup: Codable, Sendable, Equatable {
    public struct Directory: Codable, Sendable, Equatable {
        /// 1 or 2.
        public var version: Int
        public var mountPoint: String
        /// v1: the hierarchy's controllers. v2: the controllers driven through v2 (on a hybrid
        /// host only those v1 did not take).
        public var controllers: [String]
        /// The cgroup's directory in this hierarchy.
        public var path: String

        public init(version: Int, mountPoint: String, controllers: [String], path: String) {
            self.version = version
            self.mountPoint = mountPoint
            self.controllers = controllers
            self.path = path
        }
    }

    public var mode: CgroupMode
    /// As given, or the default "berth/<id>".
    public var cgroupsPath: String
    public var directories: [Directory]
    /// Directories Berth created, parents before children, in every hierarchy.
    public var created: [String]

    /// Controllers a unified host enables in the parents, so stats and later updates work.
    static let defaultV2Controllers: Set<String> = ["cpu", "cpuset", "io", "memory", "pids", "hugetlb", "rdma", "misc"]

    /// Resolves a cgroupsPath: absolute ("/berth/abc") under each hierarchy's root, relative
    /// ("berth/abc") under Berth's own cgroup in each hierarchy, empty as "berth/<containerID>".
    public static func resolve(host: CgroupHost, cgroupsPath: String, containerID: String) throws(CgroupError) -> Cgroup {
        let path = cgroupsPath.isEmpty ? "berth/" + containerID : cgroupsPath
        let parts = try CgroupPath.components(path)
        guard !parts.isEmpty else {
            throw CgroupError(field: "linux.cgroupsPath", "\"\(path)\" names the root cgroup; give the container its own")
        }
        let absolute = path.hasPrefix("/")
        let relative = "/" + parts.joined(by: "/")
        var directories: [Directory] = []
        for hierarchy in host.hierarchies {
            let base: String
            if absolute {
                base = ""
            } else {
                guard let own = hierarchy.ownPath else {
                    throw CgroupError(field: "linux.cgroupsPath", "berth's own cgroup in \(hierarchy.mountPoint) is unknown (not in /proc/self/cgroup)")
                }
                let normalized = CgroupPath.normalized(own)
                base = normalized == "/" ? "" : normalized
            }
            let full = base + relative
            guard let dir = hierarchy.directory(of: full) else {
                throw CgroupError(field: "linux.cgroupsPath", "\(full) is outside the part of the hierarchy mounted at \(hierarchy.mountPoint)")
            }
            directories.append(Directory(version: hierarchy.version, mountPoint: hierarchy.mountPoint,
                                         controllers: hierarchy.controllers, path: dir))
        }
        return Cgroup(mode: host.mode, cgroupsPath: path, directories: directories, created: [])
    }

    /// A cgroup found by the start-up sweep, with no state left: its leaf directories count as
    /// Berth's (they sit under a parent Berth made), its parents do not.
    public static func leftover(host: CgroupHost, cgroupsPath: String) throws(CgroupError) -> Cgroup {
        var cgroup = try resolve(host: host, cgroupsPath: cgroupsPath, containerID: "")
        cgroup.created = cgroup.directories.map(\.path).filter { FileSystem.isDirectory($0) }
        return cgroup
    }

    /// Child cgroups of `parent` (a cgroupsPath such as "berth") in any hierarchy, as cgroupsPaths
    /// ("berth/abc"): what the start-up sweep compares with the containers it knows.
    public static func children(host: CgroupHost, of parent: String) throws(CgroupError) -> [String] {
        let cgroup = try resolve(host: host, cgroupsPath: parent, containerID: "")
        var names: Set<String> = []
        for directory in cgroup.directories { names.formUnion(CgroupFile.children(directory.path)) }
        let prefix = parent.hasSuffix("/") ? parent : parent + "/"
        return names.sorted().map { prefix + $0 }
    }

    public var drivers: [any CgroupDriver] {
        var result: [any CgroupDriver] = []
        let v1 = directories.filter { $0.version == 1 }
        if !v1.isEmpty { result.append(V1Driver(directories: v1)) }
        if let v2 = directories.first(where: { $0.version == 2 }) { result.append(V2Driver(directory: v2)) }
        return result
    }

    public func exists() -> Bool { directories.contains { FileSystem.isDirectory($0.path) } }

    /// Checks the limits against this host without touching any cgroup.
    public func validate(_ resources: Resources) throws(CgroupError) {
        try resources.validate(Placement(directories))
    }

    /// mkdir -p in every hierarchy, then the limits. A failure removes what this call made.
    public mutating func create(_ resources: Resources = Resources()) throws(CgroupError) {
        let made = try createDirectories(for: resources)
        do throws(CgroupError) {
            try applyLimits(resources)
        } catch {
            try? Self.removeDirectories(made.reversed(), strict: false)
            created.removeAll { made.contains($0) }
            throw error
        }
    }

    /// `create` without the limits, which `applyLimits` writes later. Checks the limits first,
    /// and makes what a process needs to join (v1 cpuset's cpus and mems). Returns the
    /// directories it made; a failure removes them.
    @discardableResult
    public mutating func createDirectories(for resources: Resources) throws(CgroupError) -> [String] {
        try validate(resources)
        return try completeDirectories(for: resources)
    }

    /// The rest of `createDirectories` after `createBirthDirectory`, which checked the limits
    /// already (the runtime makes it while the container's init makes its namespaces). The
    /// directory made before is kept.
    @discardableResult
    public mutating func completeDirectories(for resources: Resources) throws(CgroupError) -> [String] {
        let made = try makeDirectories(of: directories)
        do throws(CgroupError) {
            let needed = controllersToEnable(resources)
            for driver in drivers { try driver.prepare(created: made, controllers: needed) }
        } catch {
            try? Self.removeDirectories(made.reversed(), strict: false)
            created.removeAll { made.contains($0) }
            throw error
        }
        return made
    }

    /// Makes only the v2 directory, which a process can be born into (clone3 with
    /// CLONE_INTO_CGROUP) before `completeDirectories` makes the rest: v1 cgroups are entered by
    /// the process itself, later. Checks the limits first. Returns the directories it made.
    @discardableResult
    public mutating func createBirthDirectory(for resources: Resources) throws(CgroupError) -> [String] {
        try validate(resources)
        return try makeDirectories(of: directories.filter { $0.version == 2 })
    }

    /// mkdir -p of each directory; adds what it made to `created`, or removes it on failure.
    private mutating func makeDirectories(of selected: [Directory]) throws(CgroupError) -> [String] {
        var made: [String] = []
        do throws(CgroupError) {
            for directory in selected {
                // The parents usually exist: try the cgroup itself before walking down to it.
                let paths = pathsBelow(mountPoint: directory.mountPoint, to: directory.path)
                if let leaf = paths.last {
                    switch try makeDirectory(leaf, parentsMayBeMissing: true) {
                    case .made: made.append(leaf); continue
                    case .existed: continue
                    case .parentMissing: break
                    }
                }
                for dir in paths where try makeDirectory(dir, parentsMayBeMissing: false) == .made { made.append(dir) }
            }
        } catch {
            try? Self.removeDirectories(made.reversed(), strict: false)
            throw error
        }
        created += made.filter { !created.contains($0) }
        return made
    }

    private enum MakeDirectoryResult { case made, existed, parentMissing }

    private func makeDirectory(_ path: String, parentsMayBeMissing: Bool) throws(CgroupError) -> MakeDirectoryResult {
        let (_, error) = retryingInterrupts { mkdir(path, 0o755) }
        switch error {
        case nil: return .made
        case .exists?: return .existed
        case .noEntry? where parentsMayBeMissing: return .parentMissing
        case let error?: throw CgroupError("create cgroup \(path): \(error)", errno: error)
        }
    }

    /// Changes the limits of an existing cgroup (`berth update`).
    public func update(_ resources: Resources) throws(CgroupError) {
        try validate(resources)
        let needed = controllersToEnable(resources)
        for driver in drivers { try driver.prepare(created: [], controllers: needed) }
        try applyLimits(resources)
    }

    /// Writes the limits into every hierarchy. On a hybrid host with a v1 devices controller,
    /// that controller alone filters devices (as runc does there): a second filter as a BPF
    /// program in the v2 tree would decide the same.
    public func applyLimits(_ resources: Resources) throws(CgroupError) {
        let all = drivers
        let v1Devices = all.contains { $0.version == 1 && $0.drives("devices") }
        for driver in all {
            var limits = resources
            if driver.version == 2 && v1Devices { limits.devices = nil }
            try driver.apply(limits)
        }
    }

    private func controllersToEnable(_ resources: Resources) -> Set<String> {
        var needed = resources.neededControllers
        if mode == .unified { needed.formUnion(Self.defaultV2Controllers) }
        return needed
    }

    /// Puts a process (and later its children) into the cgroup in every hierarchy.
    public func addProcess(_ pid: pid_t) throws(CgroupError) {
        for driver in drivers { try driver.addProcess(pid) }
    }

    /// Every pid in the cgroup or below it, in any hierarchy.
    public func processes() throws(CgroupError) -> [pid_t] {
        // Berth puts every process into each hierarchy and a process cannot leave its subtree,
        // so one hierarchy answers for all: the unified one where there is one (it is last).
        guard let driver = drivers.last else { return [] }
        return try driver.processes().sorted()
    }

    /// v1 freezer where mounted, else v2 cgroup.freeze.
    private var freezer: (any CgroupDriver)? {
        let all = drivers
        return all.first { $0.version == 1 && $0.canFreeze } ?? all.first { $0.canFreeze }
    }

    public func freeze(timeout: Duration = .seconds(10)) throws(CgroupError) {
        guard let freezer else { throw CgroupError("freeze \(cgroupsPath): no freezer on this host") }
        try freezer.setFrozen(true, timeout: timeout)
    }

    public func thaw(timeout: Duration = .seconds(10)) throws(CgroupError) {
        guard let freezer else { throw CgroupError("thaw \(cgroupsPath): no freezer on this host") }
        try freezer.setFrozen(false, timeout: timeout)
    }

    public func freezerState() throws(CgroupError) -> FreezerState {
        guard let freezer else { return .thawed }
        return try freezer.freezerState()
    }

    /// Sends `signal` to every process. SIGKILL uses cgroup.kill when there is one. Otherwise the
    /// cgroup is frozen so nothing can fork past the sweep, each pid is signalled, and it is
    /// thawed again (a paused cgroup stays paused unless the signal is SIGKILL).
    public func killAll(signal: Int32 = SIGKILL, timeout: Duration = .seconds(10)) throws(CgroupError) {
        if signal == SIGKILL, let once = drivers.first(where: { $0.canKillAtOnce }) {
            try once.killAtOnce()
            return
        }
        guard let freezer else {
            // No freezer: sweep until nothing new shows up.
            var signalled: Set<pid_t> = []
            for _ in 0..<5 {
                let pids = Set(try processes()).subtracting(signalled)
                if pids.isEmpty { break }
                for pid in pids { _ = Glibc.kill(pid, signal) }
                signalled.formUnion(pids)
            }
            return
        }
        let wasFrozen = try freezer.freezerState() == .frozen
        if !wasFrozen { try freezer.setFrozen(true, timeout: timeout) }
        var failure: CgroupError?
        do {
            for pid in try processes() {
                if Glibc.kill(pid, signal) != 0 && errno != ESRCH {
                    failure = CgroupError("kill \(pid) in \(cgroupsPath) with signal \(signal): \(Errno.current)", errno: .current)
                }
            }
        } catch { failure = error }
        if !wasFrozen || signal == SIGKILL { try freezer.setFrozen(false, timeout: timeout) }
        if let failure { throw failure }
    }

    /// Kills everything, waits for the cgroup to empty, and removes the directories Berth made,
    /// leaf first. Parents that other cgroups still use stay.
    public mutating func destroy(timeout: Duration = .seconds(10)) throws(CgroupError) {
        if !removedWhileEmpty(), exists(), !(try processes()).isEmpty {
            try killAll(signal: SIGKILL, timeout: timeout)
            let emptied = try waitUntil(timeout) { () throws(CgroupError) in try processes().isEmpty }
            if !emptied {
                throw CgroupError("destroy \(cgroupsPath): processes \(try processes()) still there after \(timeout)")
            }
        }
        let leaves = Set(directories.map(\.path))
        let ordered = created.sorted { $0.count > $1.count }
        for dir in ordered {
            if leaves.contains(dir) {
                try Self.removeLeaf(dir)
            } else {
                // A parent: another container may live in it, and then rmdir refuses (EBUSY).
                _ = retryingInterrupts { rmdir(dir) }
            }
            created.removeAll { $0 == dir }
        }
        created.removeAll { !FileSystem.isDirectory($0) }
    }

    /// Usually nothing is left when a container is deleted (its pid namespace died with its init):
    /// rmdir of the directory `processes()` reads, when it is ours, tells so for less than
    /// reading it. False when it is busy, or not ours to remove.
    private mutating func removedWhileEmpty() -> Bool {
        guard let probe = directories.last?.path, created.contains(probe) else { return false }
        let (_, error) = retryingInterrupts { rmdir(probe) }
        guard error == nil || error == .noEntry else { return false }
        created.removeAll { $0 == probe }
        return true
    }

    /// A leaf of ours, after the cgroups the container made inside it (those are ours too). The
    /// rmdir comes first: listing a cgroup directory costs more than removing it, and a leaf
    /// usually has nothing inside.
    private static func removeLeaf(_ leaf: String) throws(CgroupError) {
        let (_, error) = retryingInterrupts { rmdir(leaf) }
        guard let error, error != .noEntry else { return }
        try removeDirectories(CgroupFile.tree(leaf).dropFirst().reversed(), strict: true)
        try removeDirectories([leaf], strict: true)
    }

    /// rmdir in the given order, retrying EBUSY (a dying task still leaving) for about a second.
    static func removeDirectories(_ dirs: some Sequence<String>, strict: Bool) throws(CgroupError) {
        for dir in dirs {
            var lastError: Errno?
            _ = try? waitUntil(.seconds(1)) { () throws(CgroupError) in
                let (_, error) = retryingInterrupts { rmdir(dir) }
                lastError = error
                return error != .busy
            }
            if strict, let lastError, lastError != .noEntry {
                throw CgroupError("remove cgroup \(dir): \(lastError)", errno: lastError)
            }
        }
    }

    // MARK: statistics and OOM

    public func stats() -> CgroupStats {
        var stats = CgroupStats()
        for driver in drivers { driver.collect(into: &stats) }
        return stats
    }

    /// OOM kills in this cgroup (and below it) so far; nil without a memory controller.
    public func oomKillCount() -> UInt64? {
        drivers.first { $0.drives("memory") }?.oomKillCount()
    }

    /// A watcher that blocks until the next OOM event in this cgroup.
    public func oomWatcher() throws(CgroupError) -> OOMWatcher {
        guard let driver = drivers.first(where: { $0.drives("memory") }) else {
            throw CgroupError("watch \(cgroupsPath) for OOM: no memory controller on this host")
        }
        return try driver.oomWatcher()
    }
}
