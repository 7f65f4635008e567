import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// Open files through which a new process enters a cgroup as it starts, instead of being moved
/// there by pid afterwards. A move by pid, like any write to cgroup.procs, takes the kernel's
/// global threadgroup lock for writing, which waits out an RCU grace period: 5-13 ms on these
/// machines, for runc as much as for us. Two ways skip that lock: clone3(CLONE_INTO_CGROUP)
/// starts the child inside a v2 cgroup, and a lone thread writing "0" to a v1 hierarchy's
/// `tasks` file moves only itself, which the kernel does without the global lock.
public struct CgroupEntryFiles: Sendable {
    /// v2: the cgroup's directory, for CLONE_INTO_CGROUP; -1 when the cgroup has no v2 part.
    public internal(set) var v2Directory: Int32 = -1
    /// v2: cgroup.procs, which the child writes "0" to when the kernel lacks CLONE_INTO_CGROUP.
    public internal(set) var v2Procs: Int32 = -1
    /// v1: each hierarchy's `tasks`, which the child writes "0" to.
    public internal(set) var v1Tasks: [Int32] = []

    public init() {}

    public var all: [Int32] { [v2Directory, v2Procs].filter { $0 >= 0 } + v1Tasks }

    public func close() {
        for fd in all { _ = Glibc.close(fd) }
    }
}

extension Cgroup {
    /// Opens the entry files of every hierarchy, or of those of one cgroup `version`. The caller
    /// closes them once the process has started; nothing is left open when this throws.
    public func openEntryFiles(version: Int? = nil) throws(CgroupError) -> CgroupEntryFiles {
        var files = CgroupEntryFiles()
        do throws(CgroupError) {
            for driver in drivers where version == nil || driver.version == version {
                try driver.openEntryFiles(into: &files)
            }
        } catch {
            files.close()
            throw error
        }
        return files
    }
}

extension V1Driver {
    func openEntryFiles(into files: inout CgroupEntryFiles) throws(CgroupError) {
        for directory in directories {
            files.v1Tasks.append(try openEntryFile(directory.path + "/tasks", O_WRONLY))
        }
    }
}

extension V2Driver {
    func openEntryFiles(into files: inout CgroupEntryFiles) throws(CgroupError) {
        files.v2Directory = try openEntryFile(path, O_PATH | O_DIRECTORY)
        files.v2Procs = try openEntryFile(path + "/cgroup.procs", O_WRONLY)
    }
}

private func openEntryFile(_ path: String, _ flags: Int32) throws(CgroupError) -> Int32 {
    do { return try FileDescriptor.open(path, flags).rawValue } catch { throw CgroupError(error) }
}
