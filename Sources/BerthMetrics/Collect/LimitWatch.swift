import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// A container's limits (cpu.cfs_quota_us, memory.limit_in_bytes, pids.max...) change only when
/// something writes them, and inotify reports every write to a cgroup file (IN_MODIFY), whoever
/// makes it. So a limit is read once, kept, and read again only after a write or when its file
/// goes (IN_IGNORED): the page still shows what the file says at scrape time, for a quarter
/// fewer reads per container. Without inotify (or past its watch limit) limits are read every
/// time like the rest.
extension KernelFiles {
    /// Watches `file` of `files` before it is read, so that no write can fall between the
    /// read and the watch.
    func watch(_ files: ContainerFiles, _ file: CgroupFile) {
        if watcher == -2 {
            let (fd, error) = retryingInterrupts { inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC)) }
            watcher = error == nil ? fd : -1
        }
        guard watcher >= 0, !files.watches.contains(where: { $0.file == file }),
              let directory = files.directory(for: file.place), let name = file.names.first else { return }
        let wd = inotify_add_watch(watcher, directory + "/" + name, UInt32(IN_MODIFY))
        guard wd >= 0 else { return }
        files.watches.append((wd, file))
        watched[wd, default: []].append((files.key, file))
    }

    /// Removes the watches of a container whose files are closed.
    func unwatch(_ files: ContainerFiles) {
        for (wd, file) in files.watches {
            var entries = watched[wd] ?? []
            entries.removeAll { $0.key == files.key && $0.file == file }
            if entries.isEmpty {
                if watched.removeValue(forKey: wd) != nil { _ = inotify_rm_watch(watcher, wd) }
            } else {
                watched[wd] = entries
            }
        }
        files.watches = []
        files.limits = [:]
    }

    /// Reads what inotify queued since the last scrape and forgets the limits written since.
    func noteLimitWrites() {
        guard watcher >= 0 else { return }
        let header = MemoryLayout<inotify_event>.size
        while true {
            let (count, error) = retryingInterrupts { Glibc.read(watcher, buffer.baseAddress, buffer.count) }
            guard error == nil, count > 0 else { return }
            var offset = 0
            while offset + header <= count {
                let event = buffer.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                offset += header + Int(event.len)
                if event.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                    // Events were lost: read every limit again.
                    for files in containers.values { files.limits = [:] }
                    continue
                }
                for (key, file) in watched[event.wd] ?? [] {
                    guard let files = containers[key] else { continue }
                    files.limits[file.rawValue] = nil
                    // The file went (its cgroup was removed): the kernel dropped the watch.
                    if event.mask & UInt32(IN_IGNORED) != 0 { files.watches.removeAll { $0.wd == event.wd } }
                }
                if event.mask & UInt32(IN_IGNORED) != 0 { watched[event.wd] = nil }
            }
        }
    }
}
