#if canImport(Glibc)
import Glibc
#endif

public enum PortProtocol: String, Codable, Sendable {
    case tcp, udp
}

/// A published port: traffic to `hostPort` on the host goes to `containerPort` in the task's
/// namespace (portmap's DNAT). The agent picks host ports from the offer; this gets them concrete.
public struct PortMapping: Codable, Sendable, Equatable {
    public var containerPort: Int
    public var hostPort: Int
    public var `protocol`: PortProtocol

    public init(containerPort: Int, hostPort: Int, protocol: PortProtocol = .tcp) {
        self.containerPort = containerPort
        self.hostPort = hostPort
        self.protocol = `protocol`
    }

    /// portmap's runtimeConfig entry.
    var cniValue: CNIValue {
        .object([
            "hostPort": .integer(Int64(hostPort)), "containerPort": .integer(Int64(containerPort)),
            "protocol": .string(`protocol`.rawValue),
        ])
    }

    /// Ports in range, no host port twice (per protocol), none already bound on this host.
    static func validate(_ mappings: [PortMapping]) throws(NetworkError) {
        var seen: [String: Int] = [:]
        for (index, mapping) in mappings.enumerated() {
            let field = "network.portMappings[\(index)]"
            if !(1...65535).contains(mapping.containerPort) {
                throw NetworkError("\(field).containerPort: \(mapping.containerPort) is outside 1-65535")
            }
            if !(1...65535).contains(mapping.hostPort) {
                throw NetworkError("\(field).hostPort: \(mapping.hostPort) is outside 1-65535")
            }
            let key = "\(mapping.hostPort)/\(mapping.protocol.rawValue)"
            if let first = seen[key] {
                throw NetworkError("\(field).hostPort: \(key) is already mapped by network.portMappings[\(first)]")
            }
            seen[key] = index
            if !isFree(mapping.hostPort, mapping.protocol) {
                throw NetworkError("\(field).hostPort: \(key) is already taken by a process on this host")
            }
        }
    }

    /// Whether a socket could bind the port on every host address. SO_REUSEADDR, so that only a
    /// listener (or a bound UDP socket) counts as taken, not connections in TIME_WAIT.
    static func isFree(_ port: Int, _ proto: PortProtocol) -> Bool {
        let fd = socket(AF_INET, Int32(proto == .tcp ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { return true }  // cannot tell; the DNAT rule does not need the port bound
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr = in_addr(s_addr: INADDR_ANY)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return result == 0 || errno != EADDRINUSE
    }
}
