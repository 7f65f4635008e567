import BerthCgroups
import BerthLinux
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The kernel files a scrape reads, kept open from one scrape to the next. Opening and closing a
/// cgroup file costs about 7 µs here; reading an open one again from offset 0 (which makes the
/// kernel print it afresh) costs about 1 µs, and a scrape reads some 15 files per container
/// (limits are kept as bytes instead, see LimitWatch.swift). A container's files are closed when
/// a scrape no longer lists it, or when its cgroup goes (a read then fails with ENODEV). At most
/// `limit` files stay open; past that, files are opened, read and closed each time. Each open
/// kernel file holds about 5 KB of kernel memory (its seq_file page), charged to this process.
final class KernelFiles {
    /// The one cache of the process: scrapes and StatsD pushes read the same containers.
    static let shared = Mutex(KernelFiles())

    /// Files kept open at most: three quarters of the soft RLIMIT_NOFILE past 1024, so the rest
    /// of the process always keeps a quarter (and at least 1024) for itself. The soft limit is
    /// raised to the hard one first: at the usual 1024 nothing could be kept. (Processes the
    /// agent starts are not affected: their specs set RLIMIT_NOFILE.)
    static func defaultLimit() -> Int {
        var limit = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        guard getrlimit(resource, &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = raised.rlim_max
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        guard limit.rlim_cur != rlim_t.max else { return 0 }
        let soft = Int(clamping: limit.rlim_cur)
        return max(0, soft - max(soft / 4, 1024))
    }

    let limit: Int
    /// Files open in the cache now.
    private(set) var openCount = 0
    private(set) var buffer: UnsafeMutableRawBufferPointer
    private(set) var containers: [String: ContainerFiles] = [:]
    private var generation: UInt64 = 0
    /// The inotify descriptor watching limit files (see LimitWatch.swift); -2 before the first
    /// use, -1 where inotify is not available.
    var watcher: Int32 = -2
    /// Which container's limit file each watch is on (a cgroup scraped as two targets shares it).
    var watched: [Int32: [(key: String, file: CgroupFile)]] = [:]

    init(limit: Int = KernelFiles.defaultLimit()) {
        self.limit = limit
        buffer = .allocate(byteCount: 16384, alignment: 16)
    }

    deinit {
        for files in containers.values { close(files) }
        if watcher >= 0 { Glibc.close(watcher) }
        buffer.deallocate()
    }

    /// Runs one scrape of `targets`: containers not seen in it have their files closed after.
    func scrape<T>(_ body: (KernelFiles) -> T) -> T {
        generation &+= 1
        noteLimitWrites()
        let result = body(self)
        for (key, files) in containers where files.generation != generation {
            close(files)
            containers[key] = nil
        }
        return result
    }

    /// The files of one target's cgroup (a new entry if the cgroup or its place changed).
    func files(of target: MetricTarget) -> ContainerFiles {
        let key = target.containerID
        if let files = containers[key], files.cgroup == target.cgroup {
            files.generation = generation
            return files
        }
        if let old = containers[key] { close(old) }
        let files = ContainerFiles(target.cgroup, key: key, generation: generation)
        containers[key] = files
        return files
    }

    /// Forgets a container whose cgroup is gone, closing its files.
    func drop(_ target: MetricTarget) {
        if let files = containers.removeValue(forKey: target.containerID) { close(files) }
    }

    /// The whole content of one of a container's files, valid until the next read; nil when it
    /// cannot be read. A file that vanished (the cgroup was removed) sets `files.sawMissing`.
    func read(_ files: ContainerFiles, _ file: CgroupFile) -> UnsafeRawBufferPointer? {
        if file.isLimit {
            if let known = files.limits[file.rawValue] { return copy(known) }
            watch(files, file)
        }
        for attempt in 0..<2 {
            guard let fd = descriptor(files, file) else { return nil }
            let cached = files.fds[file.rawValue] == fd
            switch read(fd: fd, record: file.isRecord) {
            case .success(let count):
                let bytes = UnsafeRawBufferPointer(rebasing: buffer[..<count])
                if file.isLimit, files.watches.contains(where: { $0.file == file }) {
                    // Kept as bytes until a write: the file need not stay open (nor hold its page).
                    files.limits[file.rawValue] = Array(bytes)
                    if cached { forget(files, file) } else { Glibc.close(fd) }
                } else if !cached {
                    keep(files, file, fd)
                }
                return bytes
            case .failure(let error):
                if cached { forget(files, file) } else { Glibc.close(fd) }
                guard error.rawValue == ENODEV else { return nil }
                // A kept file of a cgroup removed since: if one was made again under the same
                // path, the second round opens that one.
                if cached && attempt == 0 { continue }
                files.sawMissing = true
                return nil
            }
        }
        return nil
    }

    /// True when the counted directory has sub-directories: kernfs counts them in its link
    /// count, and fstat of the kept directory refreshes it.
    func hasSubdirectories(_ files: ContainerFiles) -> Bool {
        guard let fd = descriptor(files, .directory) else { return false }
        var info = stat()
        let ok = fstat(fd, &info) == 0
        if files.fds[CgroupFile.directory.rawValue] != fd { keep(files, .directory, fd) }
        return ok && info.st_nlink > 2
    }

    /// /proc/<pid>/net/dev, kept open while the target's init pid stays the same: it shows the
    /// network namespace the file was opened in (a container's init is made in its own), so the
    /// namespace check runs once. A process still in berthd's namespace is checked each time:
    /// it may unshare its own later.
    func netDev(_ files: ContainerFiles, pid: pid_t) -> UnsafeRawBufferPointer? {
        if files.netPID != pid || files.netFD < 0 {
            if files.netFD >= 0 { Glibc.close(files.netFD); openCount -= 1 }
            files.netPID = pid
            files.netFD = -1
            // A task in berthd's own namespace: its counters would be the node's.
            guard pid > 0, let theirs = NetDev.namespace("/proc/\(pid)/ns/net"), theirs != NetDev.own else { return nil }
            let (fd, error) = retryingInterrupts { open("/proc/\(pid)/net/dev", O_RDONLY | O_CLOEXEC) }
            guard error == nil else { return nil }
            files.netFD = fd
            openCount += 1
        }
        guard files.netFD >= 0, case .success(let count) = read(fd: files.netFD, record: false) else { return nil }
        return UnsafeRawBufferPointer(rebasing: buffer[..<count])
    }

    /// Reads from offset 0 to the end, growing the buffer as needed, without the read that only
    /// sees end of file where the kernel's seq_file says it is the end already: a file printed
    /// as one record comes whole in one read, so a short read is all of it; a list (a pid or an
    /// interface a line) fills a page of at least 4 KiB per read and stops short only when the
    /// next line does not fit, so a read under 2 KiB was the last one.
    private func read(fd: Int32, record: Bool) -> Result<Int, Errno> {
        var total = 0
        while true {
            let (count, error) = retryingInterrupts { pread(fd, buffer.baseAddress! + total, buffer.count - total, off_t(total)) }
            if let error { return .failure(error) }
            total += count
            if count == 0 || (record && total < buffer.count) || count < 2048 { return .success(total) }
            if total == buffer.count {
                guard buffer.count < 1 << 24 else { return .success(total) }
                let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 16)
                larger.copyMemory(from: UnsafeRawBufferPointer(buffer))
                buffer.deallocate()
                buffer = larger
            }
        }
    }

    /// The open file, opening it when needed; nil when the file does not exist.
    func descriptor(_ files: ContainerFiles, _ file: CgroupFile) -> Int32? {
        let known = files.fds[file.rawValue]
        if known >= 0 { return known }
        if known == ContainerFiles.absent { return nil }
        guard let directory = files.directory(for: file.place) else {
            files.fds[file.rawValue] = ContainerFiles.absent
            return nil
        }
        for name in file.names {
            let flags = file == .directory ? O_RDONLY | O_DIRECTORY | O_CLOEXEC : O_RDONLY | O_CLOEXEC
            let (fd, error) = retryingInterrupts { open(directory + "/" + name, flags) }
            if error == nil { return fd }
            if error != .noEntry { break }
        }
        // A file this kernel does not have stays absent; a directory that went is a vanished cgroup.
        if FileSystem.isDirectory(directory) { files.fds[file.rawValue] = ContainerFiles.absent } else { files.sawMissing = true }
        return nil
    }

    /// Keeps `fd` open for next time while under the limit; closes it otherwise.
    func keep(_ files: ContainerFiles, _ file: CgroupFile, _ fd: Int32) {
        if openCount < limit {
            files.fds[file.rawValue] = fd
            openCount += 1
        } else {
            Glibc.close(fd)
        }
    }

    private func forget(_ files: ContainerFiles, _ file: CgroupFile) {
        let fd = files.fds[file.rawValue]
        guard fd >= 0 else { return }
        Glibc.close(fd)
        openCount -= 1
        files.fds[file.rawValue] = ContainerFiles.unopened
    }

    /// Bytes kept from an earlier read, put where a fresh read would be.
    private func copy(_ bytes: [UInt8]) -> UnsafeRawBufferPointer {
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        return UnsafeRawBufferPointer(rebasing: buffer[..<bytes.count])
    }

    private func close(_ files: ContainerFiles) {
        unwatch(files)
        for i in files.fds.indices where files.fds[i] >= 0 {
            Glibc.close(files.fds[i])
            openCount -= 1
            files.fds[i] = ContainerFiles.unopened
        }
        if files.netFD >= 0 { Glibc.close(files.netFD); openCount -= 1 }
        files.netFD = -1
        files.netPID = 0
    }
}

/// One container's cgroup directories by role, and its kept-open files.
final class ContainerFiles {
    static let unopened: Int32 = -2
    static let absent: Int32 = -1

    let cgroup: Cgroup
    /// v1 directories by controller, the unified one, and the one counted for processes.
    let v1: [String: String]
    let v2: Cgroup.Directory?
    let counted: Cgroup.Directory?
    /// Which hierarchies drive what, worked out once.
    struct Controllers {
        var v1CPU = false, v1CPUAcct = false, v1Memory = false, v1Pids = false, v1Blkio = false
        var v2 = false, v2CPU = false, v2Memory = false, v2Pids = false, v2IO = false
    }
    let has: Controllers
    /// The key of this entry in the cache.
    let key: String
    /// Limit files' bytes, kept while inotify says nothing wrote them; and the watches on them.
    var limits: [Int: [UInt8]] = [:]
    var watches: [(wd: Int32, file: CgroupFile)] = []
    /// A descriptor per `CgroupFile` (or `unopened`, `absent`); fixed size, so reaching one
    /// costs no reference counting.
    fileprivate let fds: UnsafeMutableBufferPointer<Int32>
    /// The identity labels as the page shows them, and what they were made from.
    var identity: (source: TargetIdentity.Source, rendered: [UInt8])?
    fileprivate var netPID: pid_t = 0
    fileprivate var netFD: Int32 = -1
    fileprivate(set) var generation: UInt64
    /// A read found a file gone during this scrape.
    var sawMissing = false

    init(_ cgroup: Cgroup, key: String, generation: UInt64) {
        self.cgroup = cgroup
        self.key = key
        var v1: [String: String] = [:]
        for directory in cgroup.directories where directory.version == 1 {
            for controller in directory.controllers where v1[controller] == nil { v1[controller] = directory.path }
        }
        self.v1 = v1
        let v2 = cgroup.directories.first { $0.version == 2 }
        self.v2 = v2
        let driven = v2?.controllers ?? []
        has = Controllers(
            v1CPU: v1["cpu"] != nil, v1CPUAcct: v1["cpuacct"] != nil, v1Memory: v1["memory"] != nil,
            v1Pids: v1["pids"] != nil, v1Blkio: v1["blkio"] != nil, v2: v2 != nil, v2CPU: driven.contains("cpu"),
            v2Memory: driven.contains("memory"), v2Pids: driven.contains("pids"), v2IO: driven.contains("io"))
        // Every process of the container is in each hierarchy: the unified one (last) answers.
        counted = cgroup.directories.last
        fds = .allocate(capacity: CgroupFile.allCases.count)
        fds.initialize(repeating: Self.unopened)
        self.generation = generation
    }

    deinit { fds.deallocate() }

    func directory(for place: CgroupFile.Place) -> String? {
        switch place {
        case .v1(let controller): return v1[controller]
        case .v2(let controller):
            guard let v2, controller.isEmpty || v2.controllers.contains(controller) else { return nil }
            return v2.path
        case .counted: return counted?.path
        }
    }
}

/// Every file a scrape reads from a cgroup, where it lives, and how the kernel prints it.
enum CgroupFile: Int, CaseIterable {
    case cpuacctUsage, cpuacctUser, cpuacctSystem, cpuStatV1, cfsPeriod, cfsQuota, cpuShares
    case memoryUsage, memoryMaxUsage, memoryLimit, memoryStatV1, memswUsage, oomControl, pidsMaxV1, blkioBytes, blkioOperations
    case cpuStat, cpuMax, cpuWeight, memoryCurrent, memoryPeak, memoryMax, memoryStat, swapCurrent, memoryEvents, pidsMax, ioStat
    case cpuPressure, memoryPressure, ioPressure
    case procs, threads, directory

    enum Place: Equatable {
        /// The v1 hierarchy of a controller.
        case v1(String)
        /// The unified hierarchy when it drives the controller ("" = whatever it drives).
        case v2(String)
        /// The hierarchy processes are counted in: the unified one where there is one.
        case counted
    }

    var place: Place {
        switch self {
        case .cpuacctUsage, .cpuacctUser, .cpuacctSystem: return .v1("cpuacct")
        case .cpuStatV1, .cfsPeriod, .cfsQuota, .cpuShares: return .v1("cpu")
        case .memoryUsage, .memoryMaxUsage, .memoryLimit, .memoryStatV1, .memswUsage, .oomControl: return .v1("memory")
        case .pidsMaxV1: return .v1("pids")
        case .blkioBytes, .blkioOperations: return .v1("blkio")
        // cpu.stat's usage lines are there without the cpu controller (a hybrid host's unified
        // hierarchy); pressure files are in every v2 cgroup.
        case .cpuStat, .cpuPressure, .memoryPressure, .ioPressure: return .v2("")
        case .cpuMax, .cpuWeight: return .v2("cpu")
        case .memoryCurrent, .memoryPeak, .memoryMax, .memoryStat, .swapCurrent, .memoryEvents: return .v2("memory")
        case .pidsMax: return .v2("pids")
        case .ioStat: return .v2("io")
        case .procs, .threads, .directory: return .counted
        }
    }

    /// The names to try, in order.
    var names: [String] {
        switch self {
        case .cpuacctUsage: return ["cpuacct.usage"]
        case .cpuacctUser: return ["cpuacct.usage_user"]
        case .cpuacctSystem: return ["cpuacct.usage_sys"]
        case .cpuStatV1, .cpuStat: return ["cpu.stat"]
        case .cfsPeriod: return ["cpu.cfs_period_us"]
        case .cfsQuota: return ["cpu.cfs_quota_us"]
        case .cpuShares: return ["cpu.shares"]
        case .memoryUsage: return ["memory.usage_in_bytes"]
        case .memoryMaxUsage: return ["memory.max_usage_in_bytes"]
        case .memoryLimit: return ["memory.limit_in_bytes"]
        case .memoryStatV1, .memoryStat: return ["memory.stat"]
        case .memswUsage: return ["memory.memsw.usage_in_bytes"]
        case .oomControl: return ["memory.oom_control"]
        case .pidsMaxV1, .pidsMax: return ["pids.max"]
        case .blkioBytes: return ["blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_service_bytes"]
        case .blkioOperations: return ["blkio.throttle.io_serviced_recursive", "blkio.throttle.io_serviced"]
        case .cpuMax: return ["cpu.max"]
        case .cpuWeight: return ["cpu.weight"]
        case .memoryCurrent: return ["memory.current"]
        case .memoryPeak: return ["memory.peak"]
        case .memoryMax: return ["memory.max"]
        case .swapCurrent: return ["memory.swap.current"]
        case .memoryEvents: return ["memory.events"]
        case .ioStat: return ["io.stat"]
        case .cpuPressure: return ["cpu.pressure"]
        case .memoryPressure: return ["memory.pressure"]
        case .ioPressure: return ["io.pressure"]
        case .procs: return ["cgroup.procs"]
        case .threads: return ["cgroup.threads", "tasks"]
        case .directory: return ["."]
        }
    }

    /// The container's limits (the spec series): written by berth, never by the kernel.
    var isLimit: Bool {
        switch self {
        case .cfsPeriod, .cfsQuota, .cpuShares, .memoryLimit, .pidsMaxV1, .cpuMax, .cpuWeight, .memoryMax, .pidsMax: return true
        default: return false
        }
    }

    /// Printed as one record (a short read is all of it); pid lists come a record per pid.
    var isRecord: Bool { self != .procs && self != .threads && self != .directory }
}
