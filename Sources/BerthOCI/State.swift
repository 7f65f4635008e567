
/// The container state of runtime.md, as printed by `berth state`.
public struct ContainerState: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        case creating, created, running, stopped
        /// Not in the spec; runc reports it for frozen containers and clients expect it.
        case paused

        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            let raw = try c.decode(String.self)
            guard let status = Status(rawValue: raw) else {
                let known = Status.allCases.map(\.rawValue).joined(separator: ", ")
                throw DecodingError.dataCorrupted(.init(
                    codingPath: decoder.codingPath, debugDescription: "unknown status \"\(raw)\" (expected one of \(known))"))
            }
            self = status
        }
    }

    public var ociVersion: String
    public var id: String
    public var status: Status
    /// Required by the spec while created or running.
    public var pid: Int32?
    /// Absolute path of the bundle.
    public var bundle: String
    public var annotations: [String: String]?

    public init(
        ociVersion: String = BerthOCI.ociVersion, id: String, status: Status, pid: Int32? = nil,
        bundle: String, annotations: [String: String]? = nil
    ) {
        self.ociVersion = ociVersion
        self.id = id
        self.status = status
        self.pid = pid
        self.bundle = bundle
        self.annotations = annotations
    }

    public static func decode(_ data: some Collection<UInt8>, source: String = "state.json") throws(OCIError) -> ContainerState {
        try OCIJSON.decode(ContainerState.self, from: data, source: source)
    }

    public func encode(pretty: Bool = true) throws -> [UInt8] {
        try OCIJSON.encode(self, pretty: pretty)
    }
}
