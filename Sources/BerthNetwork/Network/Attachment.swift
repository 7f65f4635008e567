import BerthLinux
import BerthOCI
import FoundationEssentials

public enum NetworkMode: String, Codable, Sendable {
    /// The host's network namespace: nothing to set up.
    case host
    /// A namespace of its own with only `lo` up.
    case none
    /// A namespace of its own on a CNI network (berth's bridge, or a named list).
    case bridge
}

/// What `attach` set up for a task (or a task group), and its checkpoint on disk: `detach` needs
/// nothing else, so a berthd that was killed and restarted can still tear the network down.
public struct NetworkAttachment: Codable, Sendable, Equatable {
    /// One network list run on one interface, with the result its ADD returned.
    public struct Link: Codable, Sendable, Equatable {
        public var list: NetworkList
        public var interface: String
        /// nil while ADD has not finished (a crash then leaves a checkpoint with no result: DEL
        /// still runs, without prevResult).
        public var result: CNIValue?
    }

    public enum Phase: String, Codable, Sendable { case attaching, attached }

    /// The task or group id: the namespace's name and the CNI container id.
    public var id: String
    public var mode: NetworkMode
    public var phase: Phase
    /// The namespace file (the OCI `network` namespace path); nil in host mode.
    public var namespacePath: String?
    public var links: [Link]
    public var portMappings: [PortMapping]
    public var pluginDirectories: [String]
    public var pluginTimeoutSeconds: Int
    /// The files written for the task, to bind-mount at /etc/hosts and /etc/resolv.conf.
    public var hostsPath: String?
    public var resolvConfPath: String?
    /// Where this attachment is checkpointed.
    public var checkpointPath: String

    /// The task's addresses inside its namespace, without prefix length (none in host mode).
    public var addresses: [String] {
        links.compactMap { link in link.result.flatMap { try? CNIResult($0, source: "result") } }
            .filter { $0.interfaces.first?.name != "lo" }
            .flatMap { $0.containerAddresses.filter { !$0.ip.hasPrefix("127.") && $0.ip != "::1" }.map(\.ip) }
    }

    /// BERTH_IP: the first IPv4 address, else the first address.
    public var primaryAddress: String? { addresses.first { !$0.contains(":") } ?? addresses.first }

    /// The checkpoint file name inside the state directory the caller gives.
    public static let checkpointName = "network.json"

    func save() throws(NetworkError) {
        let bytes: [UInt8]
        do {
            bytes = try OCIJSON.encodeBytes(self)
        } catch {
            throw NetworkError("cannot encode \(checkpointPath): \(error)")
        }
        do {
            try FileSystem.writeAtomically(bytes, to: checkpointPath, mode: 0o600)
        } catch {
            throw NetworkError(error)
        }
    }

    /// Reads a checkpoint; nil when there is none (nothing was set up, or it was torn down).
    public static func load(_ path: String) throws(NetworkError) -> NetworkAttachment? {
        if !FileSystem.exists(path) { return nil }
        do {
            return try OCIJSON.load(NetworkAttachment.self, path: path, source: path)
        } catch {
            throw NetworkError(error)
        }
    }
}
