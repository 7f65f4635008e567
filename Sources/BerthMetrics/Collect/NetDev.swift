#if canImport(Glibc)
import Glibc
#endif

/// Network namespaces: a task's counters come from /proc/<pid>/net/dev (see
/// `KernelFiles.netDev`), readable without entering its namespace.
enum NetDev {
    /// berthd's own network namespace ("net:[4026531840]"); it never changes.
    static let own = namespace("/proc/self/ns/net")

    static func namespace(_ link: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 64)
        let count = readlink(link, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
