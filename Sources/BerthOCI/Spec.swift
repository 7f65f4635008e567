
/// The runtime-spec version berth writes and implements.
public let ociVersion = "1.2.0"

/// config.json of an OCI bundle (runtime-spec 1.2, Linux).
public struct Spec: Codable, Sendable, Equatable {
    public var ociVersion: String
    public var process: Process?
    public var root: Root?
    public var hostname: String?
    public var domainname: String?
    public var mounts: [Mount]?
    public var hooks: Hooks?
    public var annotations: [String: String]?
    public var linux: Linux?

    public init(
        ociVersion: String = BerthOCI.ociVersion, process: Process? = nil, root: Root? = nil,
        hostname: String? = nil, domainname: String? = nil, mounts: [Mount]? = nil,
        hooks: Hooks? = nil, annotations: [String: String]? = nil, linux: Linux? = nil
    ) {
        self.ociVersion = ociVersion
        self.process = process
        self.root = root
        self.hostname = hostname
        self.domainname = domainname
        self.mounts = mounts
        self.hooks = hooks
        self.annotations = annotations
        self.linux = linux
    }

    /// Decodes config.json content; errors read `config.json: <path>: <problem>`.
    public static func decode(_ data: some Collection<UInt8>, source: String = "config.json") throws(OCIError) -> Spec {
        try OCIJSON.decodeReadable(Spec.self, from: data, source: source)
    }

    /// Reads config.json at `path`, keeping the parsed document for state.json. Decoding only:
    /// call `validate()` before acting on it.
    public static func loadDocument(path: String) throws(OCIError) -> (value: Spec, document: Deferred<Spec>) {
        try OCIJSON.loadReadableDocument(Spec.self, path: path, source: "config.json")
    }

    /// Reads `<bundle>/config.json`. Decoding only: call `validate()` before acting on it.
    public static func load(bundle: String) throws(OCIError) -> Spec {
        try loadDocument(path: bundle + "/config.json").value
    }

    /// Pretty, key-sorted JSON as written by `berth spec`.
    public func encode(pretty: Bool = true) throws -> [UInt8] {
        try OCIJSON.encode(self, pretty: pretty)
    }
}

extension Spec {
    public struct Root: Codable, Sendable, Equatable {
        /// Relative paths are relative to the bundle.
        public var path: String
        public var readonly: Bool?

        public init(path: String, readonly: Bool? = nil) {
            self.path = path
            self.readonly = readonly
        }
    }

    public struct Mount: Codable, Sendable, Equatable {
        public var destination: String
        public var type: String?
        public var source: String?
        public var options: [String]?
        public var uidMappings: [IDMapping]?
        public var gidMappings: [IDMapping]?

        public init(
            destination: String, type: String? = nil, source: String? = nil, options: [String]? = nil,
            uidMappings: [IDMapping]? = nil, gidMappings: [IDMapping]? = nil
        ) {
            self.destination = destination
            self.type = type
            self.source = source
            self.options = options
            self.uidMappings = uidMappings
            self.gidMappings = gidMappings
        }
    }

    public struct Hook: Codable, Sendable, Equatable {
        public var path: String
        public var args: [String]?
        public var env: [String]?
        /// Seconds; must be > 0 when present.
        public var timeout: Int?

        public init(path: String, args: [String]? = nil, env: [String]? = nil, timeout: Int? = nil) {
            self.path = path
            self.args = args
            self.env = env
            self.timeout = timeout
        }
    }

    public struct Hooks: Codable, Sendable, Equatable {
        /// Deprecated by the spec in favour of createRuntime, still honoured.
        public var prestart: [Hook]?
        public var createRuntime: [Hook]?
        public var createContainer: [Hook]?
        public var startContainer: [Hook]?
        public var poststart: [Hook]?
        public var poststop: [Hook]?

        public init(
            prestart: [Hook]? = nil, createRuntime: [Hook]? = nil, createContainer: [Hook]? = nil,
            startContainer: [Hook]? = nil, poststart: [Hook]? = nil, poststop: [Hook]? = nil
        ) {
            self.prestart = prestart
            self.createRuntime = createRuntime
            self.createContainer = createContainer
            self.startContainer = startContainer
            self.poststart = poststart
            self.poststop = poststop
        }

        /// Hook lists with their JSON names, in lifecycle order.
        public var all: [(name: String, hooks: [Hook])] {
            [
                ("prestart", prestart ?? []), ("createRuntime", createRuntime ?? []),
                ("createContainer", createContainer ?? []), ("startContainer", startContainer ?? []),
                ("poststart", poststart ?? []), ("poststop", poststop ?? []),
            ]
        }
    }

    /// A user or group ID range for user namespaces.
    public struct IDMapping: Codable, Sendable, Equatable {
        public var containerID: UInt32
        public var hostID: UInt32
        public var size: UInt32

        public init(containerID: UInt32, hostID: UInt32, size: UInt32) {
            self.containerID = containerID
            self.hostID = hostID
            self.size = size
        }
    }
}
