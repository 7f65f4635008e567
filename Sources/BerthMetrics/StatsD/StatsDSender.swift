import BerthLinux
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A StatsD server's address and a non-blocking UDP socket connected to it. A server that is
/// down, absent or slow never blocks the caller: a datagram the kernel will not take at once is
/// dropped and counted.
public final class StatsDSender: Sendable {
    public let address: String
    private let socket: Int32
    private let sentCount = Atomic<UInt64>(0)
    private let droppedCount = Atomic<UInt64>(0)

    /// `host:port` or `[v6]:port`. The host is resolved once, here.
    public init(address: String) throws(MetricsError) {
        self.address = address
        let (host, port) = try Self.split(address)
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw MetricsError("--statsd-address: cannot resolve \"\(host)\": \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        let fd = Glibc.socket(first.pointee.ai_family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw MetricsError("--statsd-address: socket: \(Errno.current)") }
        // connect() on UDP only fixes the peer; it sends nothing and cannot block.
        if Glibc.connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 {
            let error = Errno.current
            Glibc.close(fd)
            throw MetricsError("--statsd-address: connect \(address): \(error)")
        }
        socket = fd
    }

    deinit { Glibc.close(socket) }

    /// Sends one datagram now or drops it. True when the kernel took it.
    @discardableResult
    public func send(_ datagram: [UInt8]) -> Bool {
        let (_, error) = datagram.withUnsafeBytes { buffer in
            retryingInterrupts { Glibc.send(socket, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL)) }
        }
        if error == nil {
            sentCount.add(1, ordering: .relaxed)
            return true
        }
        droppedCount.add(1, ordering: .relaxed)
        return false
    }

    public var sent: UInt64 { sentCount.load(ordering: .relaxed) }
    public var dropped: UInt64 { droppedCount.load(ordering: .relaxed) }

    /// "host:port" / "[::1]:port" into its parts, with errors naming the flag.
    /// Checks a --statsd-address without opening anything: host and port.
    public static func parseAddress(_ address: String) throws(MetricsError) -> (host: String, port: Int) {
        let (host, port) = try split(address)
        return (host, port)
    }

    /// A listener may ask for port 0 (any free port); a destination may not.
    package static func split(_ address: String, allowAnyPort: Bool = false) throws(MetricsError) -> (String, Int) {
        let host: Substring, portText: Substring
        if address.hasPrefix("[") {
            guard let close = address.firstIndex(of: "]"), address[address.index(after: close)...].hasPrefix(":") else {
                throw MetricsError("--statsd-address: \"\(address)\" is not [ipv6]:port")
            }
            host = address[address.index(after: address.startIndex)..<close]
            portText = address[address.index(close, offsetBy: 2)...]
        } else {
            guard let colon = address.lastIndex(of: ":") else {
                throw MetricsError("--statsd-address: \"\(address)\" has no port (host:port)")
            }
            host = address[..<colon]
            portText = address[address.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), ((allowAnyPort ? 0 : 1)...65535).contains(port) else {
            throw MetricsError("--statsd-address: \"\(address)\" needs a host and a port from 1 to 65535")
        }
        return (String(host), port)
    }
}

/// A metrics set-up failure as one line naming the option or entry.
public struct MetricsError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
