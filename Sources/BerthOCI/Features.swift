
/// The runtime features document of features.md, printed by `berth features`.
public struct Features: Codable, Sendable, Equatable {
    public var ociVersionMin: String
    public var ociVersionMax: String
    public var hooks: [String]?
    public var mountOptions: [String]?
    public var linux: Linux?
    public var annotations: [String: String]?
    public var potentiallyUnsafeConfigAnnotations: [String]?

    public init(
        ociVersionMin: String, ociVersionMax: String, hooks: [String]? = nil, mountOptions: [String]? = nil,
        linux: Linux? = nil, annotations: [String: String]? = nil, potentiallyUnsafeConfigAnnotations: [String]? = nil
    ) {
        self.ociVersionMin = ociVersionMin
        self.ociVersionMax = ociVersionMax
        self.hooks = hooks
        self.mountOptions = mountOptions
        self.linux = linux
        self.annotations = annotations
        self.potentiallyUnsafeConfigAnnotations = potentiallyUnsafeConfigAnnotations
    }

    public struct Linux: Codable, Sendable, Equatable {
        public var namespaces: [String]?
        public var capabilities: [String]?
        public var cgroup: Cgroup?
        public var seccomp: Seccomp?
        public var apparmor: Toggle?
        public var selinux: Toggle?
        public var intelRdt: Toggle?
        public var mountExtensions: MountExtensions?
        public var netDevices: Toggle?

        public init(
            namespaces: [String]? = nil, capabilities: [String]? = nil, cgroup: Cgroup? = nil, seccomp: Seccomp? = nil,
            apparmor: Toggle? = nil, selinux: Toggle? = nil, intelRdt: Toggle? = nil,
            mountExtensions: MountExtensions? = nil, netDevices: Toggle? = nil
        ) {
            self.namespaces = namespaces
            self.capabilities = capabilities
            self.cgroup = cgroup
            self.seccomp = seccomp
            self.apparmor = apparmor
            self.selinux = selinux
            self.intelRdt = intelRdt
            self.mountExtensions = mountExtensions
            self.netDevices = netDevices
        }
    }

    public struct Cgroup: Codable, Sendable, Equatable {
        public var v1: Bool?
        public var v2: Bool?
        public var systemd: Bool?
        public var systemdUser: Bool?
        public var rdma: Bool?

        public init(v1: Bool? = nil, v2: Bool? = nil, systemd: Bool? = nil, systemdUser: Bool? = nil, rdma: Bool? = nil) {
            self.v1 = v1
            self.v2 = v2
            self.systemd = systemd
            self.systemdUser = systemdUser
            self.rdma = rdma
        }
    }

    public struct Seccomp: Codable, Sendable, Equatable {
        public var enabled: Bool?
        public var actions: [String]?
        public var operators: [String]?
        public var archs: [String]?
        public var knownFlags: [String]?
        public var supportedFlags: [String]?

        public init(
            enabled: Bool? = nil, actions: [String]? = nil, operators: [String]? = nil, archs: [String]? = nil,
            knownFlags: [String]? = nil, supportedFlags: [String]? = nil
        ) {
            self.enabled = enabled
            self.actions = actions
            self.operators = operators
            self.archs = archs
            self.knownFlags = knownFlags
            self.supportedFlags = supportedFlags
        }
    }

    /// `{"enabled": bool}`, the shape of apparmor, selinux, intelRdt, netDevices and idmap.
    public struct Toggle: Codable, Sendable, Equatable {
        public var enabled: Bool?

        public init(enabled: Bool? = nil) { self.enabled = enabled }
    }

    public struct MountExtensions: Codable, Sendable, Equatable {
        public var idmap: Toggle?

        public init(idmap: Toggle? = nil) { self.idmap = idmap }
    }

    /// What this build of BerthOCI accepts. The runtime fills in what depends on the host:
    /// which cgroup versions are usable and which seccomp flags the kernel supports.
    public static func berth(
        cgroupV1: Bool, cgroupV2: Bool, seccompEnabled: Bool = true,
        supportedSeccompFlags: [String]? = nil, annotations: [String: String]? = nil
    ) -> Features {
        Features(
            ociVersionMin: "1.0.0",
            ociVersionMax: BerthOCI.ociVersion,
            hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
            mountOptions: MountOptions.knownNames,
            linux: Linux(
                namespaces: LinuxNamespace.types,
                capabilities: LinuxCapability.names,
                cgroup: Cgroup(v1: cgroupV1, v2: cgroupV2, systemd: false, systemdUser: false, rdma: false),
                seccomp: Seccomp(
                    enabled: seccompEnabled,
                    actions: SeccompTables.actions.keys.sorted(),
                    operators: SeccompTables.operators.keys.sorted(),
                    archs: SeccompTables.architectures.keys.sorted(),
                    knownFlags: SeccompTables.flags.keys.sorted(),
                    supportedFlags: supportedSeccompFlags ?? SeccompTables.flags.keys.sorted()
                ),
                apparmor: Toggle(enabled: false),
                selinux: Toggle(enabled: false),
                intelRdt: Toggle(enabled: false),
                mountExtensions: MountExtensions(idmap: Toggle(enabled: false)),
                netDevices: Toggle(enabled: false)
            ),
            annotations: annotations
        )
    }

    public func encode(pretty: Bool = true) throws -> [UInt8] {
        try OCIJSON.encode(self, pretty: pretty)
    }
}
