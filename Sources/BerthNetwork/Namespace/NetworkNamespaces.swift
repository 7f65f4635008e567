import BerthLinux
import CBerth
#if canImport(Glibc)
import Glibc
#endif

/// Network namespaces kept as files in one directory (`/run/berth/netns/<name>` by default), the
/// `ip netns` convention. The file's path is what everything else uses: the OCI `network`
/// namespace path the runtime joins, CNI_NETNS for the plugins, and the one namespace the tasks
/// of a group share. Like iproute2's /run/netns, the directory is made a shared bind mount of
/// itself on first use, so an unmount there reaches mount namespaces that copied the file.
public struct NetworkNamespaces: Sendable {
    public var directory: String

    public init(directory: String = "/run/berth/netns") {
        self.directory = directory
    }

    public func path(for name: String) -> String { directory + "/" + name }

    /// Creates the namespace `name` and returns its path. An existing one is refused (two
    /// owners would tear each other's network down).
    public func create(_ name: String) throws(NetworkError) -> String {
        try Self.validateName(name, field: "network namespace name")
        do {
            try FileSystem.createDirectory(directory)
        } catch {
            throw NetworkError(error)
        }
        var step: UnsafePointer<CChar>? = nil
        if berth_netns_prepare_directory(directory, &step) != 0 {
            throw NetworkError(SystemError("\(String(cString: step!)) \(directory)"))
        }
        let path = path(for: name)
        let (fd, openError) = retryingInterrupts { open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o444) }
        if let openError {
            if openError == .exists { throw NetworkError("network namespace \(path) already exists") }
            throw NetworkError(SystemError("create \(path)", openError))
        }
        close(fd)
        if berth_netns_create(path, &step) != 0 {
            let error = SystemError("\(String(cString: step!)) at \(path)")
            unlink(path)
            throw NetworkError(error)
        }
        return path
    }

    /// Removes the namespace `name`; a missing one is not an error.
    public func remove(_ name: String) throws(NetworkError) {
        try Self.validateName(name, field: "network namespace name")
        try Self.remove(path: path(for: name))
    }

    /// Unmounts and unlinks a namespace file; a missing or unmounted file is not an error.
    public static func remove(path: String) throws(NetworkError) {
        if berth_netns_unmount(path) != 0 {
            throw NetworkError(SystemError("unmount \(path)"))
        }
        let (_, error) = retryingInterrupts { unlink(path) }
        if let error, error != .noEntry { throw NetworkError(SystemError("unlink \(path)", error)) }
    }

    /// The namespace names present (mounted or left half-made by a crash), sorted.
    public func list() -> [String] {
        ((try? FileSystem.listDirectory(directory)) ?? []).filter { !$0.hasPrefix(".") }
    }

    /// True when `path` is a live, mounted network namespace (not a leftover empty file).
    public static func isMounted(_ path: String) -> Bool {
        berth_netns_is_mounted(path) == 1
    }

    /// Names that are safe as file names and as CNI container ids: a letter or digit first,
    /// then letters, digits, '_', '.', '-'; at most 128 characters.
    static func validateName(_ name: String, field: String) throws(NetworkError) {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
        }
        let first = name.utf8.first ?? 0
        let startsWell = (first >= 0x30 && first <= 0x39) || (first >= 0x41 && first <= 0x5A) || (first >= 0x61 && first <= 0x7A)
        if name.isEmpty || name.utf8.count > 128 || !allowed || !startsWell {
            throw NetworkError("\(field): \"\(name)\" must be 1-128 letters, digits, '_', '.' or '-', starting with a letter or digit")
        }
    }
}
