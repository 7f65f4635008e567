import BerthOCI
import FoundationEssentials

/// The documents of the OCI image-spec and of `docker save` that an import reads.
enum MediaType {
    static let ociIndex = "application/vnd.oci.image.index.v1+json"
    static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    static let dockerList = "application/vnd.docker.distribution.manifest.list.v2+json"
    static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
}

/// A pointer to a blob: what it is, its digest and its exact size.
struct Descriptor: Codable, Sendable {
    var mediaType: String?
    var digest: Digest
    var size: Int64
    var platform: Platform?
    var annotations: [String: String]?

    struct Platform: Codable, Sendable {
        var architecture: String
        var os: String
        var variant: String?
    }
}

struct ImageIndex: Codable, Sendable {
    var schemaVersion: Int
    var mediaType: String?
    var manifests: [Descriptor]
}

struct ImageManifest: Codable, Sendable {
    var schemaVersion: Int
    var mediaType: String?
    var config: Descriptor
    var layers: [Descriptor]
}

/// The image configuration blob (`application/vnd.oci.image.config.v1+json`).
struct ImageConfigFile: Codable, Sendable {
    var architecture: String?
    var os: String?
    var created: String?
    var config: ImageConfig?
    var rootfs: RootFS

    struct RootFS: Codable, Sendable {
        var type: String
        var diff_ids: [Digest]
    }
}

/// How a container from the image runs: the fields the OCI conversion rules map into config.json.
public struct ImageConfig: Codable, Sendable, Equatable {
    public var User: String?
    public var ExposedPorts: [String: Empty]?
    public var Env: [String]?
    public var Entrypoint: [String]?
    public var Cmd: [String]?
    public var Volumes: [String: Empty]?
    public var WorkingDir: String?
    public var Labels: [String: String]?
    public var StopSignal: String?

    /// The `{}` values of ExposedPorts and Volumes.
    public struct Empty: Codable, Sendable, Equatable {
        public init() {}
    }

    public init(
        User: String? = nil, ExposedPorts: [String: Empty]? = nil, Env: [String]? = nil, Entrypoint: [String]? = nil,
        Cmd: [String]? = nil, Volumes: [String: Empty]? = nil, WorkingDir: String? = nil, Labels: [String: String]? = nil,
        StopSignal: String? = nil
    ) {
        self.User = User
        self.ExposedPorts = ExposedPorts
        self.Env = Env
        self.Entrypoint = Entrypoint
        self.Cmd = Cmd
        self.Volumes = Volumes
        self.WorkingDir = WorkingDir
        self.Labels = Labels
        self.StopSignal = StopSignal
    }
}

/// One image in a docker-archive's manifest.json.
struct DockerArchiveEntry: Codable, Sendable {
    var Config: String
    var RepoTags: [String]?
    var Layers: [String]
}
