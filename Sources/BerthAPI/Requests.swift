/// Body of POST /v1/images/import: an OCI layout, oci-archive or docker-archive on berthd's host.
public struct ImportRequest: Codable, Sendable {
    public var path: String
    public var name: String?
    public init(path: String, name: String? = nil) {
        self.path = path
        self.name = name
    }
}
