import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// One interface line of /proc/<pid>/net/dev.
struct InterfaceCounters: Sendable, Equatable {
    var name: String
    var receiveBytes: UInt64, receivePackets: UInt64, receiveErrors: UInt64, receiveDropped: UInt64
    var transmitBytes: UInt64, transmitPackets: UInt64, transmitErrors: UInt64, transmitDropped: UInt64
}

enum NetDev {
    /// The interfaces of `pid`'s network namespace, loopback left out. Empty when the process is
    /// gone or shares berthd's own namespace (a host-network task: its counters are the node's).
    static func interfaces(of pid: pid_t) -> [InterfaceCounters] {
        guard pid > 0, let theirs = namespace("/proc/\(pid)/ns/net"), theirs != own else { return [] }
        guard let text = try? FileSystem.readString("/proc/\(pid)/net/dev") else { return [] }
        return parse(text)
    }

    /// berthd's own network namespace ("net:[4026531840]"); it never changes.
    static let own = namespace("/proc/self/ns/net")

    static func namespace(_ link: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 64)
        let count = readlink(link, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// "  eth0: 1234 5 0 0 0 0 0 0 5678 6 0 0 0 0 0 0" after two header lines.
    static func parse(_ text: String) -> [InterfaceCounters] {
        var result: [InterfaceCounters] = []
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: " ")
            guard !name.isEmpty, name != "lo" else { continue }
            let numbers = line[line.index(after: colon)...].split(separator: " ").compactMap { UInt64($0) }
            guard numbers.count >= 12 else { continue }
            result.append(InterfaceCounters(
                name: name, receiveBytes: numbers[0], receivePackets: numbers[1], receiveErrors: numbers[2],
                receiveDropped: numbers[3], transmitBytes: numbers[8], transmitPackets: numbers[9],
                transmitErrors: numbers[10], transmitDropped: numbers[11]))
        }
        return result
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String { String(self).trimmingCharacters(in: set) }
}
