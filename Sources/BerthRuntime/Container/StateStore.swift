import BerthLinux
import BerthOCI
#if canImport(Glibc)
import Glibc
#endif

/// The runtime's root directory (--root, default /run/berth): one directory per container,
/// holding state.json, the exec fifo while the container is created, and nothing else; and at
/// most one emptied directory, `#spare`, that the next create takes instead of making one.
public struct StateStore: Sendable {
    public let root: String
    public static let defaultRoot = "/run/berth"

    public init(root: String = StateStore.defaultRoot) {
        self.root = root
    }

    public func directory(of id: String) -> String { root + "/" + id }
    func statePath(of id: String) -> String { directory(of: id) + "/state.json" }
    static let execFifoName = "exec.fifo"

    /// Container ids become directory names: refuse anything that could escape the root.
    public static func validate(id: String) throws {
        let valid = !id.isEmpty && id.utf8.count <= 1024 && id != "." && id != ".." && id.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x5F || byte == 0x2B || byte == 0x2D || byte == 0x2E
        }
        guard valid else {
            throw RuntimeError("invalid container id \"\(id)\": use letters, digits and _ + - .")
        }
    }

    /// A deleted container's directory, emptied, kept for the next create: a filesystem that
    /// discards freed blocks and has no journal (/run on these machines) makes whoever removes
    /// a directory wait for that discard, 0.2-0.7 ms here. No container id contains "#".
    var spare: String { root + "/#spare" }

    /// Creates the container's directory, or renames the spare into place: either way exactly
    /// one of two racing creates succeeds (the rename never replaces).
    func claim(id: String) throws -> ContainerLock {
        try StateStore.validate(id: id)
        let path = directory(of: id)
        var error = FileSystem.renameNoReplace(spare, to: path)
        if error != nil && error != .exists {
            try FileSystem.createDirectory(root, mode: 0o711)
            error = retryingInterrupts { mkdir(path, 0o711) }.1
        }
        if error == .exists { throw RuntimeError("container \"\(id)\" already exists") }
        if let error { throw SystemError("mkdir \(path)", error) }
        return try ContainerLock.acquire(path)
    }

    /// Locks an existing container's directory, so its state cannot change under us.
    func lock(id: String) throws -> ContainerLock {
        try StateStore.validate(id: id)
        let path = directory(of: id)
        guard FileSystem.exists(path) else { throw RuntimeError.notFound(id) }
        return try ContainerLock.acquire(path)
    }

    func load(id: String) throws -> ContainerRecord {
        let path = statePath(of: id)
        guard FileSystem.exists(path) else { throw RuntimeError.notFound(id) }
        let bytes = try FileSystem.readBytes(path)
        do {
            return try OCIJSON.decode(ContainerRecord.self, from: bytes, source: "state.json")
        } catch {
            throw RuntimeError("\(path): unreadable state: \(error)")
        }
    }

    /// Atomic, not durable: the state describes processes, cgroups and mounts that a power loss
    /// takes with it, and after one the boot id reads every container as stopped.
    func save(_ record: ContainerRecord) throws {
        let bytes = try OCIJSON.encodeBytes(record, pretty: false)
        try FileSystem.writeAtomically(bytes, to: statePath(of: record.id), mode: 0o600, durable: false)
    }

    /// Every container id under the root, in name order.
    public func ids() throws -> [String] {
        guard FileSystem.isDirectory(root) else { return [] }
        return try FileSystem.listSubdirectories(root).filter { (try? StateStore.validate(id: $0)) != nil }
    }

    /// Removes a container's directory (the caller holds its lock): emptied, it becomes the
    /// spare, unless there is one.
    func remove(id: String) throws {
        let path = directory(of: id)
        try FileSystem.emptyDirectory(path)
        if FileSystem.renameNoReplace(path, to: spare) != nil { try FileSystem.removeTree(path) }
    }
}

/// flock on the container's directory itself: it vanishes with the directory.
struct ContainerLock {
    let descriptor: FileDescriptor
    let path: String

    static func acquire(_ path: String) throws -> ContainerLock {
        let fd = try FileDescriptor.open(path, O_RDONLY | O_DIRECTORY)
        do {
            try sys("lock \(path)") { flock(fd.rawValue, LOCK_EX) }
        } catch {
            fd.close()
            throw error
        }
        // A delete may have removed the directory, or made it the spare (which a create may
        // have taken since, for another id), while we waited for its lock.
        var held = stat(), named = stat()
        if fstat(fd.rawValue, &held) != 0 || stat(path, &named) != 0 || held.st_dev != named.st_dev || held.st_ino != named.st_ino {
            fd.close()
            throw SystemError("lock \(path)", .noEntry)
        }
        return ContainerLock(descriptor: fd, path: path)
    }

    func unlock() { descriptor.close() }
}
